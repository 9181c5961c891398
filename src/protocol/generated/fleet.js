// Generated from proto/ah/fleet/v1/fleet.proto by protobufjs-cli (src/protocol/generated/generate.sh).
// Do not edit: change the .proto file and run `npm run proto:gen`.
/*eslint-disable block-scoped-var, id-length, no-control-regex, no-magic-numbers, no-prototype-builtins, no-redeclare, no-shadow, no-var, sort-vars*/
import $protobuf from "protobufjs/minimal.js";

const $Reader = $protobuf.Reader, $Writer = $protobuf.Writer, $util = $protobuf.util;

const $root = $protobuf.roots["ah_fleet"] || ($protobuf.roots["ah_fleet"] = {});

export const ah = $root.ah = (() => {

    const ah = {};

    ah.fleet = (function() {

        const fleet = {};

        fleet.v1 = (function() {

            const v1 = {};

            v1.ExecutorMessage = (function() {

                function ExecutorMessage(properties) {
                    if (properties)
                        for (let keys = Object.keys(properties), i = 0; i < keys.length; ++i)
                            if (properties[keys[i]] != null && keys[i] !== "__proto__")
                                this[keys[i]] = properties[keys[i]];
                }

                ExecutorMessage.prototype.hello = null;
                ExecutorMessage.prototype.heartbeat = null;
                ExecutorMessage.prototype.goodbye = null;

                let $oneOfFields;

                Object.defineProperty(ExecutorMessage.prototype, "body", {
                    get: $util.oneOfGetter($oneOfFields = ["hello", "heartbeat", "goodbye"]),
                    set: $util.oneOfSetter($oneOfFields)
                });

                ExecutorMessage.create = function create(properties) {
                    return new ExecutorMessage(properties);
                };

                ExecutorMessage.encode = function encode(message, writer, q) {
                    if (!writer)
                        writer = $Writer.create();
                    if (q === undefined)
                        q = 0;
                    if (q > $util.recursionLimit)
                        throw Error("max depth exceeded");
                    if (message.hello != null && Object.hasOwnProperty.call(message, "hello"))
                        $root.ah.fleet.v1.Hello.encode(message.hello, writer.uint32(10).fork(), q + 1).ldelim();
                    if (message.heartbeat != null && Object.hasOwnProperty.call(message, "heartbeat"))
                        $root.ah.fleet.v1.Heartbeat.encode(message.heartbeat, writer.uint32(18).fork(), q + 1).ldelim();
                    if (message.goodbye != null && Object.hasOwnProperty.call(message, "goodbye"))
                        $root.ah.fleet.v1.Goodbye.encode(message.goodbye, writer.uint32(26).fork(), q + 1).ldelim();
                    return writer;
                };

                ExecutorMessage.decode = function decode(reader, length, error, long) {
                    if (!(reader instanceof $Reader))
                        reader = $Reader.create(reader);
                    if (long === undefined)
                        long = 0;
                    if (long > $Reader.recursionLimit)
                        throw Error("maximum nesting depth exceeded");
                    let end, message;
                    if (length === undefined)
                        end = reader.len;
                    else {
                        end = reader.pos + length;
                        if (end > reader.len)
                            throw RangeError("index out of range");
                        length = reader.len;
                        reader.len = end;
                    }
                    message = new $root.ah.fleet.v1.ExecutorMessage();
                    while (reader.pos < end) {
                        let tag = reader.uint32();
                        if (tag === error)
                            break;
                        switch (tag >>> 3) {
                        case 1: {
                                message.hello = $root.ah.fleet.v1.Hello.decode(reader, reader.uint32(), undefined, long + 1);
                                break;
                            }
                        case 2: {
                                message.heartbeat = $root.ah.fleet.v1.Heartbeat.decode(reader, reader.uint32(), undefined, long + 1);
                                break;
                            }
                        case 3: {
                                message.goodbye = $root.ah.fleet.v1.Goodbye.decode(reader, reader.uint32(), undefined, long + 1);
                                break;
                            }
                        default:
                            reader.skipType(tag & 7, long);
                            break;
                        }
                    }
                    if (length !== undefined) {
                        if (reader.pos !== end)
                            throw RangeError("index out of range");
                        reader.len = length;
                    }
                    return message;
                };

                ExecutorMessage.fromObject = function fromObject(object, long) {
                    if (object instanceof $root.ah.fleet.v1.ExecutorMessage)
                        return object;
                    if (!$util.isObject(object))
                        throw TypeError(".ah.fleet.v1.ExecutorMessage: object expected");
                    if (long === undefined)
                        long = 0;
                    if (long > $util.recursionLimit)
                        throw Error("maximum nesting depth exceeded");
                    let message = new $root.ah.fleet.v1.ExecutorMessage();
                    if (object.hello != null) {
                        if (!$util.isObject(object.hello))
                            throw TypeError(".ah.fleet.v1.ExecutorMessage.hello: object expected");
                        message.hello = $root.ah.fleet.v1.Hello.fromObject(object.hello, long + 1);
                    }
                    if (object.heartbeat != null) {
                        if (!$util.isObject(object.heartbeat))
                            throw TypeError(".ah.fleet.v1.ExecutorMessage.heartbeat: object expected");
                        message.heartbeat = $root.ah.fleet.v1.Heartbeat.fromObject(object.heartbeat, long + 1);
                    }
                    if (object.goodbye != null) {
                        if (!$util.isObject(object.goodbye))
                            throw TypeError(".ah.fleet.v1.ExecutorMessage.goodbye: object expected");
                        message.goodbye = $root.ah.fleet.v1.Goodbye.fromObject(object.goodbye, long + 1);
                    }
                    return message;
                };

                ExecutorMessage.toObject = function toObject(message, options, q) {
                    if (!options)
                        options = {};
                    if (q === undefined)
                        q = 0;
                    if (q > $util.recursionLimit)
                        throw Error("max depth exceeded");
                    let object = {};
                    if (message.hello != null && Object.hasOwnProperty.call(message, "hello")) {
                        object.hello = $root.ah.fleet.v1.Hello.toObject(message.hello, options, q + 1);
                        if (options.oneofs)
                            object.body = "hello";
                    }
                    if (message.heartbeat != null && Object.hasOwnProperty.call(message, "heartbeat")) {
                        object.heartbeat = $root.ah.fleet.v1.Heartbeat.toObject(message.heartbeat, options, q + 1);
                        if (options.oneofs)
                            object.body = "heartbeat";
                    }
                    if (message.goodbye != null && Object.hasOwnProperty.call(message, "goodbye")) {
                        object.goodbye = $root.ah.fleet.v1.Goodbye.toObject(message.goodbye, options, q + 1);
                        if (options.oneofs)
                            object.body = "goodbye";
                    }
                    return object;
                };

                ExecutorMessage.prototype.toJSON = function toJSON() {
                    return this.constructor.toObject(this, $protobuf.util.toJSONOptions);
                };

                return ExecutorMessage;
            })();

            v1.AccessPointMessage = (function() {

                function AccessPointMessage(properties) {
                    if (properties)
                        for (let keys = Object.keys(properties), i = 0; i < keys.length; ++i)
                            if (properties[keys[i]] != null && keys[i] !== "__proto__")
                                this[keys[i]] = properties[keys[i]];
                }

                AccessPointMessage.prototype.welcome = null;
                AccessPointMessage.prototype.ack = null;
                AccessPointMessage.prototype.revoked = null;

                let $oneOfFields;

                Object.defineProperty(AccessPointMessage.prototype, "body", {
                    get: $util.oneOfGetter($oneOfFields = ["welcome", "ack", "revoked"]),
                    set: $util.oneOfSetter($oneOfFields)
                });

                AccessPointMessage.create = function create(properties) {
                    return new AccessPointMessage(properties);
                };

                AccessPointMessage.encode = function encode(message, writer, q) {
                    if (!writer)
                        writer = $Writer.create();
                    if (q === undefined)
                        q = 0;
                    if (q > $util.recursionLimit)
                        throw Error("max depth exceeded");
                    if (message.welcome != null && Object.hasOwnProperty.call(message, "welcome"))
                        $root.ah.fleet.v1.Welcome.encode(message.welcome, writer.uint32(10).fork(), q + 1).ldelim();
                    if (message.ack != null && Object.hasOwnProperty.call(message, "ack"))
                        $root.ah.fleet.v1.Ack.encode(message.ack, writer.uint32(18).fork(), q + 1).ldelim();
                    if (message.revoked != null && Object.hasOwnProperty.call(message, "revoked"))
                        $root.ah.fleet.v1.Revoked.encode(message.revoked, writer.uint32(26).fork(), q + 1).ldelim();
                    return writer;
                };

                AccessPointMessage.decode = function decode(reader, length, error, long) {
                    if (!(reader instanceof $Reader))
                        reader = $Reader.create(reader);
                    if (long === undefined)
                        long = 0;
                    if (long > $Reader.recursionLimit)
                        throw Error("maximum nesting depth exceeded");
                    let end, message;
                    if (length === undefined)
                        end = reader.len;
                    else {
                        end = reader.pos + length;
                        if (end > reader.len)
                            throw RangeError("index out of range");
                        length = reader.len;
                        reader.len = end;
                    }
                    message = new $root.ah.fleet.v1.AccessPointMessage();
                    while (reader.pos < end) {
                        let tag = reader.uint32();
                        if (tag === error)
                            break;
                        switch (tag >>> 3) {
                        case 1: {
                                message.welcome = $root.ah.fleet.v1.Welcome.decode(reader, reader.uint32(), undefined, long + 1);
                                break;
                            }
                        case 2: {
                                message.ack = $root.ah.fleet.v1.Ack.decode(reader, reader.uint32(), undefined, long + 1);
                                break;
                            }
                        case 3: {
                                message.revoked = $root.ah.fleet.v1.Revoked.decode(reader, reader.uint32(), undefined, long + 1);
                                break;
                            }
                        default:
                            reader.skipType(tag & 7, long);
                            break;
                        }
                    }
                    if (length !== undefined) {
                        if (reader.pos !== end)
                            throw RangeError("index out of range");
                        reader.len = length;
                    }
                    return message;
                };

                AccessPointMessage.fromObject = function fromObject(object, long) {
                    if (object instanceof $root.ah.fleet.v1.AccessPointMessage)
                        return object;
                    if (!$util.isObject(object))
                        throw TypeError(".ah.fleet.v1.AccessPointMessage: object expected");
                    if (long === undefined)
                        long = 0;
                    if (long > $util.recursionLimit)
                        throw Error("maximum nesting depth exceeded");
                    let message = new $root.ah.fleet.v1.AccessPointMessage();
                    if (object.welcome != null) {
                        if (!$util.isObject(object.welcome))
                            throw TypeError(".ah.fleet.v1.AccessPointMessage.welcome: object expected");
                        message.welcome = $root.ah.fleet.v1.Welcome.fromObject(object.welcome, long + 1);
                    }
                    if (object.ack != null) {
                        if (!$util.isObject(object.ack))
                            throw TypeError(".ah.fleet.v1.AccessPointMessage.ack: object expected");
                        message.ack = $root.ah.fleet.v1.Ack.fromObject(object.ack, long + 1);
                    }
                    if (object.revoked != null) {
                        if (!$util.isObject(object.revoked))
                            throw TypeError(".ah.fleet.v1.AccessPointMessage.revoked: object expected");
                        message.revoked = $root.ah.fleet.v1.Revoked.fromObject(object.revoked, long + 1);
                    }
                    return message;
                };

                AccessPointMessage.toObject = function toObject(message, options, q) {
                    if (!options)
                        options = {};
                    if (q === undefined)
                        q = 0;
                    if (q > $util.recursionLimit)
                        throw Error("max depth exceeded");
                    let object = {};
                    if (message.welcome != null && Object.hasOwnProperty.call(message, "welcome")) {
                        object.welcome = $root.ah.fleet.v1.Welcome.toObject(message.welcome, options, q + 1);
                        if (options.oneofs)
                            object.body = "welcome";
                    }
                    if (message.ack != null && Object.hasOwnProperty.call(message, "ack")) {
                        object.ack = $root.ah.fleet.v1.Ack.toObject(message.ack, options, q + 1);
                        if (options.oneofs)
                            object.body = "ack";
                    }
                    if (message.revoked != null && Object.hasOwnProperty.call(message, "revoked")) {
                        object.revoked = $root.ah.fleet.v1.Revoked.toObject(message.revoked, options, q + 1);
                        if (options.oneofs)
                            object.body = "revoked";
                    }
                    return object;
                };

                AccessPointMessage.prototype.toJSON = function toJSON() {
                    return this.constructor.toObject(this, $protobuf.util.toJSONOptions);
                };

                return AccessPointMessage;
            })();

            v1.HostFacts = (function() {

                function HostFacts(properties) {
                    if (properties)
                        for (let keys = Object.keys(properties), i = 0; i < keys.length; ++i)
                            if (properties[keys[i]] != null && keys[i] !== "__proto__")
                                this[keys[i]] = properties[keys[i]];
                }

                HostFacts.prototype.hostname = "";
                HostFacts.prototype.os = "";
                HostFacts.prototype.os_release = "";
                HostFacts.prototype.arch = "";
                HostFacts.prototype.cpus = 0;
                HostFacts.prototype.memory_bytes = $util.Long ? $util.Long.fromBits(0,0,true) : 0;

                HostFacts.create = function create(properties) {
                    return new HostFacts(properties);
                };

                HostFacts.encode = function encode(message, writer, q) {
                    if (!writer)
                        writer = $Writer.create();
                    if (q === undefined)
                        q = 0;
                    if (q > $util.recursionLimit)
                        throw Error("max depth exceeded");
                    if (message.hostname != null && Object.hasOwnProperty.call(message, "hostname"))
                        writer.uint32(10).string(message.hostname);
                    if (message.os != null && Object.hasOwnProperty.call(message, "os"))
                        writer.uint32(18).string(message.os);
                    if (message.os_release != null && Object.hasOwnProperty.call(message, "os_release"))
                        writer.uint32(26).string(message.os_release);
                    if (message.arch != null && Object.hasOwnProperty.call(message, "arch"))
                        writer.uint32(34).string(message.arch);
                    if (message.cpus != null && Object.hasOwnProperty.call(message, "cpus"))
                        writer.uint32(40).uint32(message.cpus);
                    if (message.memory_bytes != null && Object.hasOwnProperty.call(message, "memory_bytes"))
                        writer.uint32(48).uint64(message.memory_bytes);
                    return writer;
                };

                HostFacts.decode = function decode(reader, length, error, long) {
                    if (!(reader instanceof $Reader))
                        reader = $Reader.create(reader);
                    if (long === undefined)
                        long = 0;
                    if (long > $Reader.recursionLimit)
                        throw Error("maximum nesting depth exceeded");
                    let end, message;
                    if (length === undefined)
                        end = reader.len;
                    else {
                        end = reader.pos + length;
                        if (end > reader.len)
                            throw RangeError("index out of range");
                        length = reader.len;
                        reader.len = end;
                    }
                    message = new $root.ah.fleet.v1.HostFacts();
                    while (reader.pos < end) {
                        let tag = reader.uint32();
                        if (tag === error)
                            break;
                        switch (tag >>> 3) {
                        case 1: {
                                message.hostname = reader.string();
                                break;
                            }
                        case 2: {
                                message.os = reader.string();
                                break;
                            }
                        case 3: {
                                message.os_release = reader.string();
                                break;
                            }
                        case 4: {
                                message.arch = reader.string();
                                break;
                            }
                        case 5: {
                                message.cpus = reader.uint32();
                                break;
                            }
                        case 6: {
                                message.memory_bytes = reader.uint64();
                                break;
                            }
                        default:
                            reader.skipType(tag & 7, long);
                            break;
                        }
                    }
                    if (length !== undefined) {
                        if (reader.pos !== end)
                            throw RangeError("index out of range");
                        reader.len = length;
                    }
                    return message;
                };

                HostFacts.fromObject = function fromObject(object, long) {
                    if (object instanceof $root.ah.fleet.v1.HostFacts)
                        return object;
                    if (!$util.isObject(object))
                        throw TypeError(".ah.fleet.v1.HostFacts: object expected");
                    if (long === undefined)
                        long = 0;
                    if (long > $util.recursionLimit)
                        throw Error("maximum nesting depth exceeded");
                    let message = new $root.ah.fleet.v1.HostFacts();
                    if (object.hostname != null)
                        message.hostname = String(object.hostname);
                    if (object.os != null)
                        message.os = String(object.os);
                    if (object.os_release != null)
                        message.os_release = String(object.os_release);
                    if (object.arch != null)
                        message.arch = String(object.arch);
                    if (object.cpus != null)
                        message.cpus = object.cpus >>> 0;
                    if (object.memory_bytes != null)
                        if ($util.Long)
                            message.memory_bytes = $util.Long.fromValue(object.memory_bytes, true);
                        else if (typeof object.memory_bytes === "string")
                            message.memory_bytes = parseInt(object.memory_bytes, 10);
                        else if (typeof object.memory_bytes === "number")
                            message.memory_bytes = object.memory_bytes;
                        else if (typeof object.memory_bytes === "object")
                            message.memory_bytes = new $util.LongBits(object.memory_bytes.low >>> 0, object.memory_bytes.high >>> 0).toNumber(true);
                    return message;
                };

                HostFacts.toObject = function toObject(message, options, q) {
                    if (!options)
                        options = {};
                    if (q === undefined)
                        q = 0;
                    if (q > $util.recursionLimit)
                        throw Error("max depth exceeded");
                    let object = {};
                    if (options.defaults) {
                        object.hostname = "";
                        object.os = "";
                        object.os_release = "";
                        object.arch = "";
                        object.cpus = 0;
                        if ($util.Long) {
                            let long = new $util.Long(0, 0, true);
                            object.memory_bytes = options.longs === String ? long.toString() : options.longs === Number ? long.toNumber() : typeof BigInt !== "undefined" && options.longs === BigInt ? long.toBigInt() : long;
                        } else
                            object.memory_bytes = options.longs === String ? "0" : typeof BigInt !== "undefined" && options.longs === BigInt ? BigInt("0") : 0;
                    }
                    if (message.hostname != null && Object.hasOwnProperty.call(message, "hostname"))
                        object.hostname = message.hostname;
                    if (message.os != null && Object.hasOwnProperty.call(message, "os"))
                        object.os = message.os;
                    if (message.os_release != null && Object.hasOwnProperty.call(message, "os_release"))
                        object.os_release = message.os_release;
                    if (message.arch != null && Object.hasOwnProperty.call(message, "arch"))
                        object.arch = message.arch;
                    if (message.cpus != null && Object.hasOwnProperty.call(message, "cpus"))
                        object.cpus = message.cpus;
                    if (message.memory_bytes != null && Object.hasOwnProperty.call(message, "memory_bytes"))
                        if (typeof BigInt !== "undefined" && options.longs === BigInt)
                            object.memory_bytes = typeof message.memory_bytes === "number" ? BigInt(message.memory_bytes) : $util.Long.fromBits(message.memory_bytes.low >>> 0, message.memory_bytes.high >>> 0, true).toBigInt();
                        else if (typeof message.memory_bytes === "number")
                            object.memory_bytes = options.longs === String ? String(message.memory_bytes) : message.memory_bytes;
                        else
                            object.memory_bytes = options.longs === String ? $util.Long.prototype.toString.call(message.memory_bytes) : options.longs === Number ? new $util.LongBits(message.memory_bytes.low >>> 0, message.memory_bytes.high >>> 0).toNumber(true) : message.memory_bytes;
                    return object;
                };

                HostFacts.prototype.toJSON = function toJSON() {
                    return this.constructor.toObject(this, $protobuf.util.toJSONOptions);
                };

                return HostFacts;
            })();

            v1.Hello = (function() {

                function Hello(properties) {
                    this.labels = {};
                    if (properties)
                        for (let keys = Object.keys(properties), i = 0; i < keys.length; ++i)
                            if (properties[keys[i]] != null && keys[i] !== "__proto__")
                                this[keys[i]] = properties[keys[i]];
                }

                Hello.prototype.name = "";
                Hello.prototype.labels = $util.emptyObject;
                Hello.prototype.version = "";
                Hello.prototype.host = null;
                Hello.prototype.heartbeat_interval_ms = 0;
                Hello.prototype.probe = false;
                Hello.prototype.previous_connection_id = "";

                Hello.create = function create(properties) {
                    return new Hello(properties);
                };

                Hello.encode = function encode(message, writer, q) {
                    if (!writer)
                        writer = $Writer.create();
                    if (q === undefined)
                        q = 0;
                    if (q > $util.recursionLimit)
                        throw Error("max depth exceeded");
                    if (message.name != null && Object.hasOwnProperty.call(message, "name"))
                        writer.uint32(10).string(message.name);
                    if (message.labels != null && Object.hasOwnProperty.call(message, "labels"))
                        for (let keys = Object.keys(message.labels), i = 0; i < keys.length; ++i)
                            writer.uint32(18).fork().uint32(10).string(keys[i]).uint32(18).string(message.labels[keys[i]]).ldelim();
                    if (message.version != null && Object.hasOwnProperty.call(message, "version"))
                        writer.uint32(26).string(message.version);
                    if (message.host != null && Object.hasOwnProperty.call(message, "host"))
                        $root.ah.fleet.v1.HostFacts.encode(message.host, writer.uint32(34).fork(), q + 1).ldelim();
                    if (message.heartbeat_interval_ms != null && Object.hasOwnProperty.call(message, "heartbeat_interval_ms"))
                        writer.uint32(40).uint32(message.heartbeat_interval_ms);
                    if (message.probe != null && Object.hasOwnProperty.call(message, "probe"))
                        writer.uint32(48).bool(message.probe);
                    if (message.previous_connection_id != null && Object.hasOwnProperty.call(message, "previous_connection_id"))
                        writer.uint32(58).string(message.previous_connection_id);
                    return writer;
                };

                Hello.decode = function decode(reader, length, error, long) {
                    if (!(reader instanceof $Reader))
                        reader = $Reader.create(reader);
                    if (long === undefined)
                        long = 0;
                    if (long > $Reader.recursionLimit)
                        throw Error("maximum nesting depth exceeded");
                    let end, message, key, value;
                    if (length === undefined)
                        end = reader.len;
                    else {
                        end = reader.pos + length;
                        if (end > reader.len)
                            throw RangeError("index out of range");
                        length = reader.len;
                        reader.len = end;
                    }
                    message = new $root.ah.fleet.v1.Hello();
                    while (reader.pos < end) {
                        let tag = reader.uint32();
                        if (tag === error)
                            break;
                        switch (tag >>> 3) {
                        case 1: {
                                message.name = reader.string();
                                break;
                            }
                        case 2: {
                                if (message.labels === $util.emptyObject)
                                    message.labels = {};
                                let end2 = reader.uint32() + reader.pos;
                                if (end2 > reader.len)
                                    throw RangeError("index out of range");
                                reader.len = end2;
                                key = "";
                                value = "";
                                while (reader.pos < end2) {
                                    let tag2 = reader.uint32();
                                    switch (tag2 >>> 3) {
                                    case 1:
                                        key = reader.string();
                                        break;
                                    case 2:
                                        value = reader.string();
                                        break;
                                    default:
                                        reader.skipType(tag2 & 7, long);
                                        break;
                                    }
                                }
                                if (reader.pos !== end2)
                                    throw RangeError("index out of range");
                                reader.len = end;
                                if (key === "__proto__")
                                    $util.makeProp(message.labels, key);
                                message.labels[key] = value;
                                break;
                            }
                        case 3: {
                                message.version = reader.string();
                                break;
                            }
                        case 4: {
                                message.host = $root.ah.fleet.v1.HostFacts.decode(reader, reader.uint32(), undefined, long + 1);
                                break;
                            }
                        case 5: {
                                message.heartbeat_interval_ms = reader.uint32();
                                break;
                            }
                        case 6: {
                                message.probe = reader.bool();
                                break;
                            }
                        case 7: {
                                message.previous_connection_id = reader.string();
                                break;
                            }
                        default:
                            reader.skipType(tag & 7, long);
                            break;
                        }
                    }
                    if (length !== undefined) {
                        if (reader.pos !== end)
                            throw RangeError("index out of range");
                        reader.len = length;
                    }
                    return message;
                };

                Hello.fromObject = function fromObject(object, long) {
                    if (object instanceof $root.ah.fleet.v1.Hello)
                        return object;
                    if (!$util.isObject(object))
                        throw TypeError(".ah.fleet.v1.Hello: object expected");
                    if (long === undefined)
                        long = 0;
                    if (long > $util.recursionLimit)
                        throw Error("maximum nesting depth exceeded");
                    let message = new $root.ah.fleet.v1.Hello();
                    if (object.name != null)
                        message.name = String(object.name);
                    if (object.labels) {
                        if (!$util.isObject(object.labels))
                            throw TypeError(".ah.fleet.v1.Hello.labels: object expected");
                        message.labels = {};
                        for (let keys = Object.keys(object.labels), i = 0; i < keys.length; ++i) {
                            if (keys[i] === "__proto__")
                                $util.makeProp(message.labels, keys[i]);
                            message.labels[keys[i]] = String(object.labels[keys[i]]);
                        }
                    }
                    if (object.version != null)
                        message.version = String(object.version);
                    if (object.host != null) {
                        if (!$util.isObject(object.host))
                            throw TypeError(".ah.fleet.v1.Hello.host: object expected");
                        message.host = $root.ah.fleet.v1.HostFacts.fromObject(object.host, long + 1);
                    }
                    if (object.heartbeat_interval_ms != null)
                        message.heartbeat_interval_ms = object.heartbeat_interval_ms >>> 0;
                    if (object.probe != null)
                        message.probe = Boolean(object.probe);
                    if (object.previous_connection_id != null)
                        message.previous_connection_id = String(object.previous_connection_id);
                    return message;
                };

                Hello.toObject = function toObject(message, options, q) {
                    if (!options)
                        options = {};
                    if (q === undefined)
                        q = 0;
                    if (q > $util.recursionLimit)
                        throw Error("max depth exceeded");
                    let object = {};
                    if (options.objects || options.defaults)
                        object.labels = {};
                    if (options.defaults) {
                        object.name = "";
                        object.version = "";
                        object.host = null;
                        object.heartbeat_interval_ms = 0;
                        object.probe = false;
                        object.previous_connection_id = "";
                    }
                    if (message.name != null && Object.hasOwnProperty.call(message, "name"))
                        object.name = message.name;
                    let keys2;
                    if (message.labels && (keys2 = Object.keys(message.labels)).length) {
                        object.labels = {};
                        for (let j = 0; j < keys2.length; ++j) {
                            if (keys2[j] === "__proto__")
                                $util.makeProp(object.labels, keys2[j]);
                            object.labels[keys2[j]] = message.labels[keys2[j]];
                        }
                    }
                    if (message.version != null && Object.hasOwnProperty.call(message, "version"))
                        object.version = message.version;
                    if (message.host != null && Object.hasOwnProperty.call(message, "host"))
                        object.host = $root.ah.fleet.v1.HostFacts.toObject(message.host, options, q + 1);
                    if (message.heartbeat_interval_ms != null && Object.hasOwnProperty.call(message, "heartbeat_interval_ms"))
                        object.heartbeat_interval_ms = message.heartbeat_interval_ms;
                    if (message.probe != null && Object.hasOwnProperty.call(message, "probe"))
                        object.probe = message.probe;
                    if (message.previous_connection_id != null && Object.hasOwnProperty.call(message, "previous_connection_id"))
                        object.previous_connection_id = message.previous_connection_id;
                    return object;
                };

                Hello.prototype.toJSON = function toJSON() {
                    return this.constructor.toObject(this, $protobuf.util.toJSONOptions);
                };

                return Hello;
            })();

            v1.Welcome = (function() {

                function Welcome(properties) {
                    if (properties)
                        for (let keys = Object.keys(properties), i = 0; i < keys.length; ++i)
                            if (properties[keys[i]] != null && keys[i] !== "__proto__")
                                this[keys[i]] = properties[keys[i]];
                }

                Welcome.prototype.executor_id = "";
                Welcome.prototype.server_time_unix_ms = $util.Long ? $util.Long.fromBits(0,0,false) : 0;
                Welcome.prototype.heartbeat_interval_ms = 0;
                Welcome.prototype.connection_id = "";

                Welcome.create = function create(properties) {
                    return new Welcome(properties);
                };

                Welcome.encode = function encode(message, writer, q) {
                    if (!writer)
                        writer = $Writer.create();
                    if (q === undefined)
                        q = 0;
                    if (q > $util.recursionLimit)
                        throw Error("max depth exceeded");
                    if (message.executor_id != null && Object.hasOwnProperty.call(message, "executor_id"))
                        writer.uint32(10).string(message.executor_id);
                    if (message.server_time_unix_ms != null && Object.hasOwnProperty.call(message, "server_time_unix_ms"))
                        writer.uint32(16).int64(message.server_time_unix_ms);
                    if (message.heartbeat_interval_ms != null && Object.hasOwnProperty.call(message, "heartbeat_interval_ms"))
                        writer.uint32(24).uint32(message.heartbeat_interval_ms);
                    if (message.connection_id != null && Object.hasOwnProperty.call(message, "connection_id"))
                        writer.uint32(34).string(message.connection_id);
                    return writer;
                };

                Welcome.decode = function decode(reader, length, error, long) {
                    if (!(reader instanceof $Reader))
                        reader = $Reader.create(reader);
                    if (long === undefined)
                        long = 0;
                    if (long > $Reader.recursionLimit)
                        throw Error("maximum nesting depth exceeded");
                    let end, message;
                    if (length === undefined)
                        end = reader.len;
                    else {
                        end = reader.pos + length;
                        if (end > reader.len)
                            throw RangeError("index out of range");
                        length = reader.len;
                        reader.len = end;
                    }
                    message = new $root.ah.fleet.v1.Welcome();
                    while (reader.pos < end) {
                        let tag = reader.uint32();
                        if (tag === error)
                            break;
                        switch (tag >>> 3) {
                        case 1: {
                                message.executor_id = reader.string();
                                break;
                            }
                        case 2: {
                                message.server_time_unix_ms = reader.int64();
                                break;
                            }
                        case 3: {
                                message.heartbeat_interval_ms = reader.uint32();
                                break;
                            }
                        case 4: {
                                message.connection_id = reader.string();
                                break;
                            }
                        default:
                            reader.skipType(tag & 7, long);
                            break;
                        }
                    }
                    if (length !== undefined) {
                        if (reader.pos !== end)
                            throw RangeError("index out of range");
                        reader.len = length;
                    }
                    return message;
                };

                Welcome.fromObject = function fromObject(object, long) {
                    if (object instanceof $root.ah.fleet.v1.Welcome)
                        return object;
                    if (!$util.isObject(object))
                        throw TypeError(".ah.fleet.v1.Welcome: object expected");
                    if (long === undefined)
                        long = 0;
                    if (long > $util.recursionLimit)
                        throw Error("maximum nesting depth exceeded");
                    let message = new $root.ah.fleet.v1.Welcome();
                    if (object.executor_id != null)
                        message.executor_id = String(object.executor_id);
                    if (object.server_time_unix_ms != null)
                        if ($util.Long)
                            message.server_time_unix_ms = $util.Long.fromValue(object.server_time_unix_ms, false);
                        else if (typeof object.server_time_unix_ms === "string")
                            message.server_time_unix_ms = parseInt(object.server_time_unix_ms, 10);
                        else if (typeof object.server_time_unix_ms === "number")
                            message.server_time_unix_ms = object.server_time_unix_ms;
                        else if (typeof object.server_time_unix_ms === "object")
                            message.server_time_unix_ms = new $util.LongBits(object.server_time_unix_ms.low >>> 0, object.server_time_unix_ms.high >>> 0).toNumber();
                    if (object.heartbeat_interval_ms != null)
                        message.heartbeat_interval_ms = object.heartbeat_interval_ms >>> 0;
                    if (object.connection_id != null)
                        message.connection_id = String(object.connection_id);
                    return message;
                };

                Welcome.toObject = function toObject(message, options, q) {
                    if (!options)
                        options = {};
                    if (q === undefined)
                        q = 0;
                    if (q > $util.recursionLimit)
                        throw Error("max depth exceeded");
                    let object = {};
                    if (options.defaults) {
                        object.executor_id = "";
                        if ($util.Long) {
                            let long = new $util.Long(0, 0, false);
                            object.server_time_unix_ms = options.longs === String ? long.toString() : options.longs === Number ? long.toNumber() : typeof BigInt !== "undefined" && options.longs === BigInt ? long.toBigInt() : long;
                        } else
                            object.server_time_unix_ms = options.longs === String ? "0" : typeof BigInt !== "undefined" && options.longs === BigInt ? BigInt("0") : 0;
                        object.heartbeat_interval_ms = 0;
                        object.connection_id = "";
                    }
                    if (message.executor_id != null && Object.hasOwnProperty.call(message, "executor_id"))
                        object.executor_id = message.executor_id;
                    if (message.server_time_unix_ms != null && Object.hasOwnProperty.call(message, "server_time_unix_ms"))
                        if (typeof BigInt !== "undefined" && options.longs === BigInt)
                            object.server_time_unix_ms = typeof message.server_time_unix_ms === "number" ? BigInt(message.server_time_unix_ms) : $util.Long.fromBits(message.server_time_unix_ms.low >>> 0, message.server_time_unix_ms.high >>> 0, false).toBigInt();
                        else if (typeof message.server_time_unix_ms === "number")
                            object.server_time_unix_ms = options.longs === String ? String(message.server_time_unix_ms) : message.server_time_unix_ms;
                        else
                            object.server_time_unix_ms = options.longs === String ? $util.Long.prototype.toString.call(message.server_time_unix_ms) : options.longs === Number ? new $util.LongBits(message.server_time_unix_ms.low >>> 0, message.server_time_unix_ms.high >>> 0).toNumber() : message.server_time_unix_ms;
                    if (message.heartbeat_interval_ms != null && Object.hasOwnProperty.call(message, "heartbeat_interval_ms"))
                        object.heartbeat_interval_ms = message.heartbeat_interval_ms;
                    if (message.connection_id != null && Object.hasOwnProperty.call(message, "connection_id"))
                        object.connection_id = message.connection_id;
                    return object;
                };

                Welcome.prototype.toJSON = function toJSON() {
                    return this.constructor.toObject(this, $protobuf.util.toJSONOptions);
                };

                return Welcome;
            })();

            v1.Heartbeat = (function() {

                function Heartbeat(properties) {
                    if (properties)
                        for (let keys = Object.keys(properties), i = 0; i < keys.length; ++i)
                            if (properties[keys[i]] != null && keys[i] !== "__proto__")
                                this[keys[i]] = properties[keys[i]];
                }

                Heartbeat.prototype.seq = $util.Long ? $util.Long.fromBits(0,0,true) : 0;
                Heartbeat.prototype.sent_unix_ms = $util.Long ? $util.Long.fromBits(0,0,false) : 0;

                Heartbeat.create = function create(properties) {
                    return new Heartbeat(properties);
                };

                Heartbeat.encode = function encode(message, writer, q) {
                    if (!writer)
                        writer = $Writer.create();
                    if (q === undefined)
                        q = 0;
                    if (q > $util.recursionLimit)
                        throw Error("max depth exceeded");
                    if (message.seq != null && Object.hasOwnProperty.call(message, "seq"))
                        writer.uint32(8).uint64(message.seq);
                    if (message.sent_unix_ms != null && Object.hasOwnProperty.call(message, "sent_unix_ms"))
                        writer.uint32(16).int64(message.sent_unix_ms);
                    return writer;
                };

                Heartbeat.decode = function decode(reader, length, error, long) {
                    if (!(reader instanceof $Reader))
                        reader = $Reader.create(reader);
                    if (long === undefined)
                        long = 0;
                    if (long > $Reader.recursionLimit)
                        throw Error("maximum nesting depth exceeded");
                    let end, message;
                    if (length === undefined)
                        end = reader.len;
                    else {
                        end = reader.pos + length;
                        if (end > reader.len)
                            throw RangeError("index out of range");
                        length = reader.len;
                        reader.len = end;
                    }
                    message = new $root.ah.fleet.v1.Heartbeat();
                    while (reader.pos < end) {
                        let tag = reader.uint32();
                        if (tag === error)
                            break;
                        switch (tag >>> 3) {
                        case 1: {
                                message.seq = reader.uint64();
                                break;
                            }
                        case 2: {
                                message.sent_unix_ms = reader.int64();
                                break;
                            }
                        default:
                            reader.skipType(tag & 7, long);
                            break;
                        }
                    }
                    if (length !== undefined) {
                        if (reader.pos !== end)
                            throw RangeError("index out of range");
                        reader.len = length;
                    }
                    return message;
                };

                Heartbeat.fromObject = function fromObject(object, long) {
                    if (object instanceof $root.ah.fleet.v1.Heartbeat)
                        return object;
                    if (!$util.isObject(object))
                        throw TypeError(".ah.fleet.v1.Heartbeat: object expected");
                    if (long === undefined)
                        long = 0;
                    if (long > $util.recursionLimit)
                        throw Error("maximum nesting depth exceeded");
                    let message = new $root.ah.fleet.v1.Heartbeat();
                    if (object.seq != null)
                        if ($util.Long)
                            message.seq = $util.Long.fromValue(object.seq, true);
                        else if (typeof object.seq === "string")
                            message.seq = parseInt(object.seq, 10);
                        else if (typeof object.seq === "number")
                            message.seq = object.seq;
                        else if (typeof object.seq === "object")
                            message.seq = new $util.LongBits(object.seq.low >>> 0, object.seq.high >>> 0).toNumber(true);
                    if (object.sent_unix_ms != null)
                        if ($util.Long)
                            message.sent_unix_ms = $util.Long.fromValue(object.sent_unix_ms, false);
                        else if (typeof object.sent_unix_ms === "string")
                            message.sent_unix_ms = parseInt(object.sent_unix_ms, 10);
                        else if (typeof object.sent_unix_ms === "number")
                            message.sent_unix_ms = object.sent_unix_ms;
                        else if (typeof object.sent_unix_ms === "object")
                            message.sent_unix_ms = new $util.LongBits(object.sent_unix_ms.low >>> 0, object.sent_unix_ms.high >>> 0).toNumber();
                    return message;
                };

                Heartbeat.toObject = function toObject(message, options, q) {
                    if (!options)
                        options = {};
                    if (q === undefined)
                        q = 0;
                    if (q > $util.recursionLimit)
                        throw Error("max depth exceeded");
                    let object = {};
                    if (options.defaults) {
                        if ($util.Long) {
                            let long = new $util.Long(0, 0, true);
                            object.seq = options.longs === String ? long.toString() : options.longs === Number ? long.toNumber() : typeof BigInt !== "undefined" && options.longs === BigInt ? long.toBigInt() : long;
                        } else
                            object.seq = options.longs === String ? "0" : typeof BigInt !== "undefined" && options.longs === BigInt ? BigInt("0") : 0;
                        if ($util.Long) {
                            let long = new $util.Long(0, 0, false);
                            object.sent_unix_ms = options.longs === String ? long.toString() : options.longs === Number ? long.toNumber() : typeof BigInt !== "undefined" && options.longs === BigInt ? long.toBigInt() : long;
                        } else
                            object.sent_unix_ms = options.longs === String ? "0" : typeof BigInt !== "undefined" && options.longs === BigInt ? BigInt("0") : 0;
                    }
                    if (message.seq != null && Object.hasOwnProperty.call(message, "seq"))
                        if (typeof BigInt !== "undefined" && options.longs === BigInt)
                            object.seq = typeof message.seq === "number" ? BigInt(message.seq) : $util.Long.fromBits(message.seq.low >>> 0, message.seq.high >>> 0, true).toBigInt();
                        else if (typeof message.seq === "number")
                            object.seq = options.longs === String ? String(message.seq) : message.seq;
                        else
                            object.seq = options.longs === String ? $util.Long.prototype.toString.call(message.seq) : options.longs === Number ? new $util.LongBits(message.seq.low >>> 0, message.seq.high >>> 0).toNumber(true) : message.seq;
                    if (message.sent_unix_ms != null && Object.hasOwnProperty.call(message, "sent_unix_ms"))
                        if (typeof BigInt !== "undefined" && options.longs === BigInt)
                            object.sent_unix_ms = typeof message.sent_unix_ms === "number" ? BigInt(message.sent_unix_ms) : $util.Long.fromBits(message.sent_unix_ms.low >>> 0, message.sent_unix_ms.high >>> 0, false).toBigInt();
                        else if (typeof message.sent_unix_ms === "number")
                            object.sent_unix_ms = options.longs === String ? String(message.sent_unix_ms) : message.sent_unix_ms;
                        else
                            object.sent_unix_ms = options.longs === String ? $util.Long.prototype.toString.call(message.sent_unix_ms) : options.longs === Number ? new $util.LongBits(message.sent_unix_ms.low >>> 0, message.sent_unix_ms.high >>> 0).toNumber() : message.sent_unix_ms;
                    return object;
                };

                Heartbeat.prototype.toJSON = function toJSON() {
                    return this.constructor.toObject(this, $protobuf.util.toJSONOptions);
                };

                return Heartbeat;
            })();

            v1.Ack = (function() {

                function Ack(properties) {
                    if (properties)
                        for (let keys = Object.keys(properties), i = 0; i < keys.length; ++i)
                            if (properties[keys[i]] != null && keys[i] !== "__proto__")
                                this[keys[i]] = properties[keys[i]];
                }

                Ack.prototype.seq = $util.Long ? $util.Long.fromBits(0,0,true) : 0;
                Ack.prototype.server_time_unix_ms = $util.Long ? $util.Long.fromBits(0,0,false) : 0;

                Ack.create = function create(properties) {
                    return new Ack(properties);
                };

                Ack.encode = function encode(message, writer, q) {
                    if (!writer)
                        writer = $Writer.create();
                    if (q === undefined)
                        q = 0;
                    if (q > $util.recursionLimit)
                        throw Error("max depth exceeded");
                    if (message.seq != null && Object.hasOwnProperty.call(message, "seq"))
                        writer.uint32(8).uint64(message.seq);
                    if (message.server_time_unix_ms != null && Object.hasOwnProperty.call(message, "server_time_unix_ms"))
                        writer.uint32(16).int64(message.server_time_unix_ms);
                    return writer;
                };

                Ack.decode = function decode(reader, length, error, long) {
                    if (!(reader instanceof $Reader))
                        reader = $Reader.create(reader);
                    if (long === undefined)
                        long = 0;
                    if (long > $Reader.recursionLimit)
                        throw Error("maximum nesting depth exceeded");
                    let end, message;
                    if (length === undefined)
                        end = reader.len;
                    else {
                        end = reader.pos + length;
                        if (end > reader.len)
                            throw RangeError("index out of range");
                        length = reader.len;
                        reader.len = end;
                    }
                    message = new $root.ah.fleet.v1.Ack();
                    while (reader.pos < end) {
                        let tag = reader.uint32();
                        if (tag === error)
                            break;
                        switch (tag >>> 3) {
                        case 1: {
                                message.seq = reader.uint64();
                                break;
                            }
                        case 2: {
                                message.server_time_unix_ms = reader.int64();
                                break;
                            }
                        default:
                            reader.skipType(tag & 7, long);
                            break;
                        }
                    }
                    if (length !== undefined) {
                        if (reader.pos !== end)
                            throw RangeError("index out of range");
                        reader.len = length;
                    }
                    return message;
                };

                Ack.fromObject = function fromObject(object, long) {
                    if (object instanceof $root.ah.fleet.v1.Ack)
                        return object;
                    if (!$util.isObject(object))
                        throw TypeError(".ah.fleet.v1.Ack: object expected");
                    if (long === undefined)
                        long = 0;
                    if (long > $util.recursionLimit)
                        throw Error("maximum nesting depth exceeded");
                    let message = new $root.ah.fleet.v1.Ack();
                    if (object.seq != null)
                        if ($util.Long)
                            message.seq = $util.Long.fromValue(object.seq, true);
                        else if (typeof object.seq === "string")
                            message.seq = parseInt(object.seq, 10);
                        else if (typeof object.seq === "number")
                            message.seq = object.seq;
                        else if (typeof object.seq === "object")
                            message.seq = new $util.LongBits(object.seq.low >>> 0, object.seq.high >>> 0).toNumber(true);
                    if (object.server_time_unix_ms != null)
                        if ($util.Long)
                            message.server_time_unix_ms = $util.Long.fromValue(object.server_time_unix_ms, false);
                        else if (typeof object.server_time_unix_ms === "string")
                            message.server_time_unix_ms = parseInt(object.server_time_unix_ms, 10);
                        else if (typeof object.server_time_unix_ms === "number")
                            message.server_time_unix_ms = object.server_time_unix_ms;
                        else if (typeof object.server_time_unix_ms === "object")
                            message.server_time_unix_ms = new $util.LongBits(object.server_time_unix_ms.low >>> 0, object.server_time_unix_ms.high >>> 0).toNumber();
                    return message;
                };

                Ack.toObject = function toObject(message, options, q) {
                    if (!options)
                        options = {};
                    if (q === undefined)
                        q = 0;
                    if (q > $util.recursionLimit)
                        throw Error("max depth exceeded");
                    let object = {};
                    if (options.defaults) {
                        if ($util.Long) {
                            let long = new $util.Long(0, 0, true);
                            object.seq = options.longs === String ? long.toString() : options.longs === Number ? long.toNumber() : typeof BigInt !== "undefined" && options.longs === BigInt ? long.toBigInt() : long;
                        } else
                            object.seq = options.longs === String ? "0" : typeof BigInt !== "undefined" && options.longs === BigInt ? BigInt("0") : 0;
                        if ($util.Long) {
                            let long = new $util.Long(0, 0, false);
                            object.server_time_unix_ms = options.longs === String ? long.toString() : options.longs === Number ? long.toNumber() : typeof BigInt !== "undefined" && options.longs === BigInt ? long.toBigInt() : long;
                        } else
                            object.server_time_unix_ms = options.longs === String ? "0" : typeof BigInt !== "undefined" && options.longs === BigInt ? BigInt("0") : 0;
                    }
                    if (message.seq != null && Object.hasOwnProperty.call(message, "seq"))
                        if (typeof BigInt !== "undefined" && options.longs === BigInt)
                            object.seq = typeof message.seq === "number" ? BigInt(message.seq) : $util.Long.fromBits(message.seq.low >>> 0, message.seq.high >>> 0, true).toBigInt();
                        else if (typeof message.seq === "number")
                            object.seq = options.longs === String ? String(message.seq) : message.seq;
                        else
                            object.seq = options.longs === String ? $util.Long.prototype.toString.call(message.seq) : options.longs === Number ? new $util.LongBits(message.seq.low >>> 0, message.seq.high >>> 0).toNumber(true) : message.seq;
                    if (message.server_time_unix_ms != null && Object.hasOwnProperty.call(message, "server_time_unix_ms"))
                        if (typeof BigInt !== "undefined" && options.longs === BigInt)
                            object.server_time_unix_ms = typeof message.server_time_unix_ms === "number" ? BigInt(message.server_time_unix_ms) : $util.Long.fromBits(message.server_time_unix_ms.low >>> 0, message.server_time_unix_ms.high >>> 0, false).toBigInt();
                        else if (typeof message.server_time_unix_ms === "number")
                            object.server_time_unix_ms = options.longs === String ? String(message.server_time_unix_ms) : message.server_time_unix_ms;
                        else
                            object.server_time_unix_ms = options.longs === String ? $util.Long.prototype.toString.call(message.server_time_unix_ms) : options.longs === Number ? new $util.LongBits(message.server_time_unix_ms.low >>> 0, message.server_time_unix_ms.high >>> 0).toNumber() : message.server_time_unix_ms;
                    return object;
                };

                Ack.prototype.toJSON = function toJSON() {
                    return this.constructor.toObject(this, $protobuf.util.toJSONOptions);
                };

                return Ack;
            })();

            v1.Goodbye = (function() {

                function Goodbye(properties) {
                    if (properties)
                        for (let keys = Object.keys(properties), i = 0; i < keys.length; ++i)
                            if (properties[keys[i]] != null && keys[i] !== "__proto__")
                                this[keys[i]] = properties[keys[i]];
                }

                Goodbye.prototype.reason = "";

                Goodbye.create = function create(properties) {
                    return new Goodbye(properties);
                };

                Goodbye.encode = function encode(message, writer, q) {
                    if (!writer)
                        writer = $Writer.create();
                    if (q === undefined)
                        q = 0;
                    if (q > $util.recursionLimit)
                        throw Error("max depth exceeded");
                    if (message.reason != null && Object.hasOwnProperty.call(message, "reason"))
                        writer.uint32(10).string(message.reason);
                    return writer;
                };

                Goodbye.decode = function decode(reader, length, error, long) {
                    if (!(reader instanceof $Reader))
                        reader = $Reader.create(reader);
                    if (long === undefined)
                        long = 0;
                    if (long > $Reader.recursionLimit)
                        throw Error("maximum nesting depth exceeded");
                    let end, message;
                    if (length === undefined)
                        end = reader.len;
                    else {
                        end = reader.pos + length;
                        if (end > reader.len)
                            throw RangeError("index out of range");
                        length = reader.len;
                        reader.len = end;
                    }
                    message = new $root.ah.fleet.v1.Goodbye();
                    while (reader.pos < end) {
                        let tag = reader.uint32();
                        if (tag === error)
                            break;
                        switch (tag >>> 3) {
                        case 1: {
                                message.reason = reader.string();
                                break;
                            }
                        default:
                            reader.skipType(tag & 7, long);
                            break;
                        }
                    }
                    if (length !== undefined) {
                        if (reader.pos !== end)
                            throw RangeError("index out of range");
                        reader.len = length;
                    }
                    return message;
                };

                Goodbye.fromObject = function fromObject(object, long) {
                    if (object instanceof $root.ah.fleet.v1.Goodbye)
                        return object;
                    if (!$util.isObject(object))
                        throw TypeError(".ah.fleet.v1.Goodbye: object expected");
                    if (long === undefined)
                        long = 0;
                    if (long > $util.recursionLimit)
                        throw Error("maximum nesting depth exceeded");
                    let message = new $root.ah.fleet.v1.Goodbye();
                    if (object.reason != null)
                        message.reason = String(object.reason);
                    return message;
                };

                Goodbye.toObject = function toObject(message, options, q) {
                    if (!options)
                        options = {};
                    if (q === undefined)
                        q = 0;
                    if (q > $util.recursionLimit)
                        throw Error("max depth exceeded");
                    let object = {};
                    if (options.defaults)
                        object.reason = "";
                    if (message.reason != null && Object.hasOwnProperty.call(message, "reason"))
                        object.reason = message.reason;
                    return object;
                };

                Goodbye.prototype.toJSON = function toJSON() {
                    return this.constructor.toObject(this, $protobuf.util.toJSONOptions);
                };

                return Goodbye;
            })();

            v1.Revoked = (function() {

                function Revoked(properties) {
                    if (properties)
                        for (let keys = Object.keys(properties), i = 0; i < keys.length; ++i)
                            if (properties[keys[i]] != null && keys[i] !== "__proto__")
                                this[keys[i]] = properties[keys[i]];
                }

                Revoked.prototype.reason = "";

                Revoked.create = function create(properties) {
                    return new Revoked(properties);
                };

                Revoked.encode = function encode(message, writer, q) {
                    if (!writer)
                        writer = $Writer.create();
                    if (q === undefined)
                        q = 0;
                    if (q > $util.recursionLimit)
                        throw Error("max depth exceeded");
                    if (message.reason != null && Object.hasOwnProperty.call(message, "reason"))
                        writer.uint32(10).string(message.reason);
                    return writer;
                };

                Revoked.decode = function decode(reader, length, error, long) {
                    if (!(reader instanceof $Reader))
                        reader = $Reader.create(reader);
                    if (long === undefined)
                        long = 0;
                    if (long > $Reader.recursionLimit)
                        throw Error("maximum nesting depth exceeded");
                    let end, message;
                    if (length === undefined)
                        end = reader.len;
                    else {
                        end = reader.pos + length;
                        if (end > reader.len)
                            throw RangeError("index out of range");
                        length = reader.len;
                        reader.len = end;
                    }
                    message = new $root.ah.fleet.v1.Revoked();
                    while (reader.pos < end) {
                        let tag = reader.uint32();
                        if (tag === error)
                            break;
                        switch (tag >>> 3) {
                        case 1: {
                                message.reason = reader.string();
                                break;
                            }
                        default:
                            reader.skipType(tag & 7, long);
                            break;
                        }
                    }
                    if (length !== undefined) {
                        if (reader.pos !== end)
                            throw RangeError("index out of range");
                        reader.len = length;
                    }
                    return message;
                };

                Revoked.fromObject = function fromObject(object, long) {
                    if (object instanceof $root.ah.fleet.v1.Revoked)
                        return object;
                    if (!$util.isObject(object))
                        throw TypeError(".ah.fleet.v1.Revoked: object expected");
                    if (long === undefined)
                        long = 0;
                    if (long > $util.recursionLimit)
                        throw Error("maximum nesting depth exceeded");
                    let message = new $root.ah.fleet.v1.Revoked();
                    if (object.reason != null)
                        message.reason = String(object.reason);
                    return message;
                };

                Revoked.toObject = function toObject(message, options, q) {
                    if (!options)
                        options = {};
                    if (q === undefined)
                        q = 0;
                    if (q > $util.recursionLimit)
                        throw Error("max depth exceeded");
                    let object = {};
                    if (options.defaults)
                        object.reason = "";
                    if (message.reason != null && Object.hasOwnProperty.call(message, "reason"))
                        object.reason = message.reason;
                    return object;
                };

                Revoked.prototype.toJSON = function toJSON() {
                    return this.constructor.toObject(this, $protobuf.util.toJSONOptions);
                };

                return Revoked;
            })();

            v1.JoinRequest = (function() {

                function JoinRequest(properties) {
                    if (properties)
                        for (let keys = Object.keys(properties), i = 0; i < keys.length; ++i)
                            if (properties[keys[i]] != null && keys[i] !== "__proto__")
                                this[keys[i]] = properties[keys[i]];
                }

                JoinRequest.prototype.token = "";
                JoinRequest.prototype.csr_pem = "";

                JoinRequest.create = function create(properties) {
                    return new JoinRequest(properties);
                };

                JoinRequest.encode = function encode(message, writer, q) {
                    if (!writer)
                        writer = $Writer.create();
                    if (q === undefined)
                        q = 0;
                    if (q > $util.recursionLimit)
                        throw Error("max depth exceeded");
                    if (message.token != null && Object.hasOwnProperty.call(message, "token"))
                        writer.uint32(10).string(message.token);
                    if (message.csr_pem != null && Object.hasOwnProperty.call(message, "csr_pem"))
                        writer.uint32(18).string(message.csr_pem);
                    return writer;
                };

                JoinRequest.decode = function decode(reader, length, error, long) {
                    if (!(reader instanceof $Reader))
                        reader = $Reader.create(reader);
                    if (long === undefined)
                        long = 0;
                    if (long > $Reader.recursionLimit)
                        throw Error("maximum nesting depth exceeded");
                    let end, message;
                    if (length === undefined)
                        end = reader.len;
                    else {
                        end = reader.pos + length;
                        if (end > reader.len)
                            throw RangeError("index out of range");
                        length = reader.len;
                        reader.len = end;
                    }
                    message = new $root.ah.fleet.v1.JoinRequest();
                    while (reader.pos < end) {
                        let tag = reader.uint32();
                        if (tag === error)
                            break;
                        switch (tag >>> 3) {
                        case 1: {
                                message.token = reader.string();
                                break;
                            }
                        case 2: {
                                message.csr_pem = reader.string();
                                break;
                            }
                        default:
                            reader.skipType(tag & 7, long);
                            break;
                        }
                    }
                    if (length !== undefined) {
                        if (reader.pos !== end)
                            throw RangeError("index out of range");
                        reader.len = length;
                    }
                    return message;
                };

                JoinRequest.fromObject = function fromObject(object, long) {
                    if (object instanceof $root.ah.fleet.v1.JoinRequest)
                        return object;
                    if (!$util.isObject(object))
                        throw TypeError(".ah.fleet.v1.JoinRequest: object expected");
                    if (long === undefined)
                        long = 0;
                    if (long > $util.recursionLimit)
                        throw Error("maximum nesting depth exceeded");
                    let message = new $root.ah.fleet.v1.JoinRequest();
                    if (object.token != null)
                        message.token = String(object.token);
                    if (object.csr_pem != null)
                        message.csr_pem = String(object.csr_pem);
                    return message;
                };

                JoinRequest.toObject = function toObject(message, options, q) {
                    if (!options)
                        options = {};
                    if (q === undefined)
                        q = 0;
                    if (q > $util.recursionLimit)
                        throw Error("max depth exceeded");
                    let object = {};
                    if (options.defaults) {
                        object.token = "";
                        object.csr_pem = "";
                    }
                    if (message.token != null && Object.hasOwnProperty.call(message, "token"))
                        object.token = message.token;
                    if (message.csr_pem != null && Object.hasOwnProperty.call(message, "csr_pem"))
                        object.csr_pem = message.csr_pem;
                    return object;
                };

                JoinRequest.prototype.toJSON = function toJSON() {
                    return this.constructor.toObject(this, $protobuf.util.toJSONOptions);
                };

                return JoinRequest;
            })();

            v1.JoinResponse = (function() {

                function JoinResponse(properties) {
                    if (properties)
                        for (let keys = Object.keys(properties), i = 0; i < keys.length; ++i)
                            if (properties[keys[i]] != null && keys[i] !== "__proto__")
                                this[keys[i]] = properties[keys[i]];
                }

                JoinResponse.prototype.chain_pem = "";
                JoinResponse.prototype.bundle_pem = "";
                JoinResponse.prototype.spiffe_id = "";
                JoinResponse.prototype.not_after_unix_ms = $util.Long ? $util.Long.fromBits(0,0,false) : 0;
                JoinResponse.prototype.access_point_id = "";

                JoinResponse.create = function create(properties) {
                    return new JoinResponse(properties);
                };

                JoinResponse.encode = function encode(message, writer, q) {
                    if (!writer)
                        writer = $Writer.create();
                    if (q === undefined)
                        q = 0;
                    if (q > $util.recursionLimit)
                        throw Error("max depth exceeded");
                    if (message.chain_pem != null && Object.hasOwnProperty.call(message, "chain_pem"))
                        writer.uint32(10).string(message.chain_pem);
                    if (message.bundle_pem != null && Object.hasOwnProperty.call(message, "bundle_pem"))
                        writer.uint32(18).string(message.bundle_pem);
                    if (message.spiffe_id != null && Object.hasOwnProperty.call(message, "spiffe_id"))
                        writer.uint32(26).string(message.spiffe_id);
                    if (message.not_after_unix_ms != null && Object.hasOwnProperty.call(message, "not_after_unix_ms"))
                        writer.uint32(32).int64(message.not_after_unix_ms);
                    if (message.access_point_id != null && Object.hasOwnProperty.call(message, "access_point_id"))
                        writer.uint32(42).string(message.access_point_id);
                    return writer;
                };

                JoinResponse.decode = function decode(reader, length, error, long) {
                    if (!(reader instanceof $Reader))
                        reader = $Reader.create(reader);
                    if (long === undefined)
                        long = 0;
                    if (long > $Reader.recursionLimit)
                        throw Error("maximum nesting depth exceeded");
                    let end, message;
                    if (length === undefined)
                        end = reader.len;
                    else {
                        end = reader.pos + length;
                        if (end > reader.len)
                            throw RangeError("index out of range");
                        length = reader.len;
                        reader.len = end;
                    }
                    message = new $root.ah.fleet.v1.JoinResponse();
                    while (reader.pos < end) {
                        let tag = reader.uint32();
                        if (tag === error)
                            break;
                        switch (tag >>> 3) {
                        case 1: {
                                message.chain_pem = reader.string();
                                break;
                            }
                        case 2: {
                                message.bundle_pem = reader.string();
                                break;
                            }
                        case 3: {
                                message.spiffe_id = reader.string();
                                break;
                            }
                        case 4: {
                                message.not_after_unix_ms = reader.int64();
                                break;
                            }
                        case 5: {
                                message.access_point_id = reader.string();
                                break;
                            }
                        default:
                            reader.skipType(tag & 7, long);
                            break;
                        }
                    }
                    if (length !== undefined) {
                        if (reader.pos !== end)
                            throw RangeError("index out of range");
                        reader.len = length;
                    }
                    return message;
                };

                JoinResponse.fromObject = function fromObject(object, long) {
                    if (object instanceof $root.ah.fleet.v1.JoinResponse)
                        return object;
                    if (!$util.isObject(object))
                        throw TypeError(".ah.fleet.v1.JoinResponse: object expected");
                    if (long === undefined)
                        long = 0;
                    if (long > $util.recursionLimit)
                        throw Error("maximum nesting depth exceeded");
                    let message = new $root.ah.fleet.v1.JoinResponse();
                    if (object.chain_pem != null)
                        message.chain_pem = String(object.chain_pem);
                    if (object.bundle_pem != null)
                        message.bundle_pem = String(object.bundle_pem);
                    if (object.spiffe_id != null)
                        message.spiffe_id = String(object.spiffe_id);
                    if (object.not_after_unix_ms != null)
                        if ($util.Long)
                            message.not_after_unix_ms = $util.Long.fromValue(object.not_after_unix_ms, false);
                        else if (typeof object.not_after_unix_ms === "string")
                            message.not_after_unix_ms = parseInt(object.not_after_unix_ms, 10);
                        else if (typeof object.not_after_unix_ms === "number")
                            message.not_after_unix_ms = object.not_after_unix_ms;
                        else if (typeof object.not_after_unix_ms === "object")
                            message.not_after_unix_ms = new $util.LongBits(object.not_after_unix_ms.low >>> 0, object.not_after_unix_ms.high >>> 0).toNumber();
                    if (object.access_point_id != null)
                        message.access_point_id = String(object.access_point_id);
                    return message;
                };

                JoinResponse.toObject = function toObject(message, options, q) {
                    if (!options)
                        options = {};
                    if (q === undefined)
                        q = 0;
                    if (q > $util.recursionLimit)
                        throw Error("max depth exceeded");
                    let object = {};
                    if (options.defaults) {
                        object.chain_pem = "";
                        object.bundle_pem = "";
                        object.spiffe_id = "";
                        if ($util.Long) {
                            let long = new $util.Long(0, 0, false);
                            object.not_after_unix_ms = options.longs === String ? long.toString() : options.longs === Number ? long.toNumber() : typeof BigInt !== "undefined" && options.longs === BigInt ? long.toBigInt() : long;
                        } else
                            object.not_after_unix_ms = options.longs === String ? "0" : typeof BigInt !== "undefined" && options.longs === BigInt ? BigInt("0") : 0;
                        object.access_point_id = "";
                    }
                    if (message.chain_pem != null && Object.hasOwnProperty.call(message, "chain_pem"))
                        object.chain_pem = message.chain_pem;
                    if (message.bundle_pem != null && Object.hasOwnProperty.call(message, "bundle_pem"))
                        object.bundle_pem = message.bundle_pem;
                    if (message.spiffe_id != null && Object.hasOwnProperty.call(message, "spiffe_id"))
                        object.spiffe_id = message.spiffe_id;
                    if (message.not_after_unix_ms != null && Object.hasOwnProperty.call(message, "not_after_unix_ms"))
                        if (typeof BigInt !== "undefined" && options.longs === BigInt)
                            object.not_after_unix_ms = typeof message.not_after_unix_ms === "number" ? BigInt(message.not_after_unix_ms) : $util.Long.fromBits(message.not_after_unix_ms.low >>> 0, message.not_after_unix_ms.high >>> 0, false).toBigInt();
                        else if (typeof message.not_after_unix_ms === "number")
                            object.not_after_unix_ms = options.longs === String ? String(message.not_after_unix_ms) : message.not_after_unix_ms;
                        else
                            object.not_after_unix_ms = options.longs === String ? $util.Long.prototype.toString.call(message.not_after_unix_ms) : options.longs === Number ? new $util.LongBits(message.not_after_unix_ms.low >>> 0, message.not_after_unix_ms.high >>> 0).toNumber() : message.not_after_unix_ms;
                    if (message.access_point_id != null && Object.hasOwnProperty.call(message, "access_point_id"))
                        object.access_point_id = message.access_point_id;
                    return object;
                };

                JoinResponse.prototype.toJSON = function toJSON() {
                    return this.constructor.toObject(this, $protobuf.util.toJSONOptions);
                };

                return JoinResponse;
            })();

            v1.RenewRequest = (function() {

                function RenewRequest(properties) {
                    if (properties)
                        for (let keys = Object.keys(properties), i = 0; i < keys.length; ++i)
                            if (properties[keys[i]] != null && keys[i] !== "__proto__")
                                this[keys[i]] = properties[keys[i]];
                }

                RenewRequest.prototype.csr_pem = "";

                RenewRequest.create = function create(properties) {
                    return new RenewRequest(properties);
                };

                RenewRequest.encode = function encode(message, writer, q) {
                    if (!writer)
                        writer = $Writer.create();
                    if (q === undefined)
                        q = 0;
                    if (q > $util.recursionLimit)
                        throw Error("max depth exceeded");
                    if (message.csr_pem != null && Object.hasOwnProperty.call(message, "csr_pem"))
                        writer.uint32(10).string(message.csr_pem);
                    return writer;
                };

                RenewRequest.decode = function decode(reader, length, error, long) {
                    if (!(reader instanceof $Reader))
                        reader = $Reader.create(reader);
                    if (long === undefined)
                        long = 0;
                    if (long > $Reader.recursionLimit)
                        throw Error("maximum nesting depth exceeded");
                    let end, message;
                    if (length === undefined)
                        end = reader.len;
                    else {
                        end = reader.pos + length;
                        if (end > reader.len)
                            throw RangeError("index out of range");
                        length = reader.len;
                        reader.len = end;
                    }
                    message = new $root.ah.fleet.v1.RenewRequest();
                    while (reader.pos < end) {
                        let tag = reader.uint32();
                        if (tag === error)
                            break;
                        switch (tag >>> 3) {
                        case 1: {
                                message.csr_pem = reader.string();
                                break;
                            }
                        default:
                            reader.skipType(tag & 7, long);
                            break;
                        }
                    }
                    if (length !== undefined) {
                        if (reader.pos !== end)
                            throw RangeError("index out of range");
                        reader.len = length;
                    }
                    return message;
                };

                RenewRequest.fromObject = function fromObject(object, long) {
                    if (object instanceof $root.ah.fleet.v1.RenewRequest)
                        return object;
                    if (!$util.isObject(object))
                        throw TypeError(".ah.fleet.v1.RenewRequest: object expected");
                    if (long === undefined)
                        long = 0;
                    if (long > $util.recursionLimit)
                        throw Error("maximum nesting depth exceeded");
                    let message = new $root.ah.fleet.v1.RenewRequest();
                    if (object.csr_pem != null)
                        message.csr_pem = String(object.csr_pem);
                    return message;
                };

                RenewRequest.toObject = function toObject(message, options, q) {
                    if (!options)
                        options = {};
                    if (q === undefined)
                        q = 0;
                    if (q > $util.recursionLimit)
                        throw Error("max depth exceeded");
                    let object = {};
                    if (options.defaults)
                        object.csr_pem = "";
                    if (message.csr_pem != null && Object.hasOwnProperty.call(message, "csr_pem"))
                        object.csr_pem = message.csr_pem;
                    return object;
                };

                RenewRequest.prototype.toJSON = function toJSON() {
                    return this.constructor.toObject(this, $protobuf.util.toJSONOptions);
                };

                return RenewRequest;
            })();

            v1.RenewResponse = (function() {

                function RenewResponse(properties) {
                    if (properties)
                        for (let keys = Object.keys(properties), i = 0; i < keys.length; ++i)
                            if (properties[keys[i]] != null && keys[i] !== "__proto__")
                                this[keys[i]] = properties[keys[i]];
                }

                RenewResponse.prototype.chain_pem = "";
                RenewResponse.prototype.bundle_pem = "";
                RenewResponse.prototype.not_after_unix_ms = $util.Long ? $util.Long.fromBits(0,0,false) : 0;
                RenewResponse.prototype.access_point_id = "";

                RenewResponse.create = function create(properties) {
                    return new RenewResponse(properties);
                };

                RenewResponse.encode = function encode(message, writer, q) {
                    if (!writer)
                        writer = $Writer.create();
                    if (q === undefined)
                        q = 0;
                    if (q > $util.recursionLimit)
                        throw Error("max depth exceeded");
                    if (message.chain_pem != null && Object.hasOwnProperty.call(message, "chain_pem"))
                        writer.uint32(10).string(message.chain_pem);
                    if (message.bundle_pem != null && Object.hasOwnProperty.call(message, "bundle_pem"))
                        writer.uint32(18).string(message.bundle_pem);
                    if (message.not_after_unix_ms != null && Object.hasOwnProperty.call(message, "not_after_unix_ms"))
                        writer.uint32(24).int64(message.not_after_unix_ms);
                    if (message.access_point_id != null && Object.hasOwnProperty.call(message, "access_point_id"))
                        writer.uint32(34).string(message.access_point_id);
                    return writer;
                };

                RenewResponse.decode = function decode(reader, length, error, long) {
                    if (!(reader instanceof $Reader))
                        reader = $Reader.create(reader);
                    if (long === undefined)
                        long = 0;
                    if (long > $Reader.recursionLimit)
                        throw Error("maximum nesting depth exceeded");
                    let end, message;
                    if (length === undefined)
                        end = reader.len;
                    else {
                        end = reader.pos + length;
                        if (end > reader.len)
                            throw RangeError("index out of range");
                        length = reader.len;
                        reader.len = end;
                    }
                    message = new $root.ah.fleet.v1.RenewResponse();
                    while (reader.pos < end) {
                        let tag = reader.uint32();
                        if (tag === error)
                            break;
                        switch (tag >>> 3) {
                        case 1: {
                                message.chain_pem = reader.string();
                                break;
                            }
                        case 2: {
                                message.bundle_pem = reader.string();
                                break;
                            }
                        case 3: {
                                message.not_after_unix_ms = reader.int64();
                                break;
                            }
                        case 4: {
                                message.access_point_id = reader.string();
                                break;
                            }
                        default:
                            reader.skipType(tag & 7, long);
                            break;
                        }
                    }
                    if (length !== undefined) {
                        if (reader.pos !== end)
                            throw RangeError("index out of range");
                        reader.len = length;
                    }
                    return message;
                };

                RenewResponse.fromObject = function fromObject(object, long) {
                    if (object instanceof $root.ah.fleet.v1.RenewResponse)
                        return object;
                    if (!$util.isObject(object))
                        throw TypeError(".ah.fleet.v1.RenewResponse: object expected");
                    if (long === undefined)
                        long = 0;
                    if (long > $util.recursionLimit)
                        throw Error("maximum nesting depth exceeded");
                    let message = new $root.ah.fleet.v1.RenewResponse();
                    if (object.chain_pem != null)
                        message.chain_pem = String(object.chain_pem);
                    if (object.bundle_pem != null)
                        message.bundle_pem = String(object.bundle_pem);
                    if (object.not_after_unix_ms != null)
                        if ($util.Long)
                            message.not_after_unix_ms = $util.Long.fromValue(object.not_after_unix_ms, false);
                        else if (typeof object.not_after_unix_ms === "string")
                            message.not_after_unix_ms = parseInt(object.not_after_unix_ms, 10);
                        else if (typeof object.not_after_unix_ms === "number")
                            message.not_after_unix_ms = object.not_after_unix_ms;
                        else if (typeof object.not_after_unix_ms === "object")
                            message.not_after_unix_ms = new $util.LongBits(object.not_after_unix_ms.low >>> 0, object.not_after_unix_ms.high >>> 0).toNumber();
                    if (object.access_point_id != null)
                        message.access_point_id = String(object.access_point_id);
                    return message;
                };

                RenewResponse.toObject = function toObject(message, options, q) {
                    if (!options)
                        options = {};
                    if (q === undefined)
                        q = 0;
                    if (q > $util.recursionLimit)
                        throw Error("max depth exceeded");
                    let object = {};
                    if (options.defaults) {
                        object.chain_pem = "";
                        object.bundle_pem = "";
                        if ($util.Long) {
                            let long = new $util.Long(0, 0, false);
                            object.not_after_unix_ms = options.longs === String ? long.toString() : options.longs === Number ? long.toNumber() : typeof BigInt !== "undefined" && options.longs === BigInt ? long.toBigInt() : long;
                        } else
                            object.not_after_unix_ms = options.longs === String ? "0" : typeof BigInt !== "undefined" && options.longs === BigInt ? BigInt("0") : 0;
                        object.access_point_id = "";
                    }
                    if (message.chain_pem != null && Object.hasOwnProperty.call(message, "chain_pem"))
                        object.chain_pem = message.chain_pem;
                    if (message.bundle_pem != null && Object.hasOwnProperty.call(message, "bundle_pem"))
                        object.bundle_pem = message.bundle_pem;
                    if (message.not_after_unix_ms != null && Object.hasOwnProperty.call(message, "not_after_unix_ms"))
                        if (typeof BigInt !== "undefined" && options.longs === BigInt)
                            object.not_after_unix_ms = typeof message.not_after_unix_ms === "number" ? BigInt(message.not_after_unix_ms) : $util.Long.fromBits(message.not_after_unix_ms.low >>> 0, message.not_after_unix_ms.high >>> 0, false).toBigInt();
                        else if (typeof message.not_after_unix_ms === "number")
                            object.not_after_unix_ms = options.longs === String ? String(message.not_after_unix_ms) : message.not_after_unix_ms;
                        else
                            object.not_after_unix_ms = options.longs === String ? $util.Long.prototype.toString.call(message.not_after_unix_ms) : options.longs === Number ? new $util.LongBits(message.not_after_unix_ms.low >>> 0, message.not_after_unix_ms.high >>> 0).toNumber() : message.not_after_unix_ms;
                    if (message.access_point_id != null && Object.hasOwnProperty.call(message, "access_point_id"))
                        object.access_point_id = message.access_point_id;
                    return object;
                };

                RenewResponse.prototype.toJSON = function toJSON() {
                    return this.constructor.toObject(this, $protobuf.util.toJSONOptions);
                };

                return RenewResponse;
            })();

            return v1;
        })();

        return fleet;
    })();

    return ah;
})();

export { $root as default };
