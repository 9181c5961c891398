// Generated from proto/spiffe/workload/workload.proto by protobufjs-cli (src/protocol/generated/generate.sh).
// Do not edit: change the .proto file and run `npm run proto:gen`.
/*eslint-disable block-scoped-var, id-length, no-control-regex, no-magic-numbers, no-prototype-builtins, no-redeclare, no-shadow, no-var, sort-vars*/
import $protobuf from "protobufjs/minimal.js";

const $Reader = $protobuf.Reader, $Writer = $protobuf.Writer, $util = $protobuf.util;

const $root = $protobuf.roots["spiffe_workload"] || ($protobuf.roots["spiffe_workload"] = {});

export const X509SVIDRequest = $root.X509SVIDRequest = (() => {

    function X509SVIDRequest(properties) {
        if (properties)
            for (let keys = Object.keys(properties), i = 0; i < keys.length; ++i)
                if (properties[keys[i]] != null && keys[i] !== "__proto__")
                    this[keys[i]] = properties[keys[i]];
    }

    X509SVIDRequest.create = function create(properties) {
        return new X509SVIDRequest(properties);
    };

    X509SVIDRequest.encode = function encode(message, writer, q) {
        if (!writer)
            writer = $Writer.create();
        if (q === undefined)
            q = 0;
        if (q > $util.recursionLimit)
            throw Error("max depth exceeded");
        return writer;
    };

    X509SVIDRequest.decode = function decode(reader, length, error, long) {
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
        message = new $root.X509SVIDRequest();
        while (reader.pos < end) {
            let tag = reader.uint32();
            if (tag === error)
                break;
            switch (tag >>> 3) {
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

    X509SVIDRequest.fromObject = function fromObject(object, long) {
        if (object instanceof $root.X509SVIDRequest)
            return object;
        return new $root.X509SVIDRequest();
    };

    X509SVIDRequest.toObject = function toObject() {
        return {};
    };

    X509SVIDRequest.prototype.toJSON = function toJSON() {
        return this.constructor.toObject(this, $protobuf.util.toJSONOptions);
    };

    return X509SVIDRequest;
})();

export const X509SVIDResponse = $root.X509SVIDResponse = (() => {

    function X509SVIDResponse(properties) {
        this.svids = [];
        this.crl = [];
        this.federated_bundles = {};
        if (properties)
            for (let keys = Object.keys(properties), i = 0; i < keys.length; ++i)
                if (properties[keys[i]] != null && keys[i] !== "__proto__")
                    this[keys[i]] = properties[keys[i]];
    }

    X509SVIDResponse.prototype.svids = $util.emptyArray;
    X509SVIDResponse.prototype.crl = $util.emptyArray;
    X509SVIDResponse.prototype.federated_bundles = $util.emptyObject;

    X509SVIDResponse.create = function create(properties) {
        return new X509SVIDResponse(properties);
    };

    X509SVIDResponse.encode = function encode(message, writer, q) {
        if (!writer)
            writer = $Writer.create();
        if (q === undefined)
            q = 0;
        if (q > $util.recursionLimit)
            throw Error("max depth exceeded");
        if (message.svids != null && message.svids.length)
            for (let i = 0; i < message.svids.length; ++i)
                $root.X509SVID.encode(message.svids[i], writer.uint32(10).fork(), q + 1).ldelim();
        if (message.crl != null && message.crl.length)
            for (let i = 0; i < message.crl.length; ++i)
                writer.uint32(18).bytes(message.crl[i]);
        if (message.federated_bundles != null && Object.hasOwnProperty.call(message, "federated_bundles"))
            for (let keys = Object.keys(message.federated_bundles), i = 0; i < keys.length; ++i)
                writer.uint32(26).fork().uint32(10).string(keys[i]).uint32(18).bytes(message.federated_bundles[keys[i]]).ldelim();
        return writer;
    };

    X509SVIDResponse.decode = function decode(reader, length, error, long) {
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
        message = new $root.X509SVIDResponse();
        while (reader.pos < end) {
            let tag = reader.uint32();
            if (tag === error)
                break;
            switch (tag >>> 3) {
            case 1: {
                    if (!(message.svids && message.svids.length))
                        message.svids = [];
                    message.svids.push($root.X509SVID.decode(reader, reader.uint32(), undefined, long + 1));
                    break;
                }
            case 2: {
                    if (!(message.crl && message.crl.length))
                        message.crl = [];
                    message.crl.push(reader.bytes());
                    break;
                }
            case 3: {
                    if (message.federated_bundles === $util.emptyObject)
                        message.federated_bundles = {};
                    let end2 = reader.uint32() + reader.pos;
                    if (end2 > reader.len)
                        throw RangeError("index out of range");
                    reader.len = end2;
                    key = "";
                    value = [];
                    while (reader.pos < end2) {
                        let tag2 = reader.uint32();
                        switch (tag2 >>> 3) {
                        case 1:
                            key = reader.string();
                            break;
                        case 2:
                            value = reader.bytes();
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
                        $util.makeProp(message.federated_bundles, key);
                    message.federated_bundles[key] = value;
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

    X509SVIDResponse.fromObject = function fromObject(object, long) {
        if (object instanceof $root.X509SVIDResponse)
            return object;
        if (!$util.isObject(object))
            throw TypeError(".X509SVIDResponse: object expected");
        if (long === undefined)
            long = 0;
        if (long > $util.recursionLimit)
            throw Error("maximum nesting depth exceeded");
        let message = new $root.X509SVIDResponse();
        if (object.svids) {
            if (!Array.isArray(object.svids))
                throw TypeError(".X509SVIDResponse.svids: array expected");
            message.svids = [];
            for (let i = 0; i < object.svids.length; ++i) {
                if (!$util.isObject(object.svids[i]))
                    throw TypeError(".X509SVIDResponse.svids: object expected");
                message.svids[i] = $root.X509SVID.fromObject(object.svids[i], long + 1);
            }
        }
        if (object.crl) {
            if (!Array.isArray(object.crl))
                throw TypeError(".X509SVIDResponse.crl: array expected");
            message.crl = [];
            for (let i = 0; i < object.crl.length; ++i)
                if (typeof object.crl[i] === "string")
                    $util.base64.decode(object.crl[i], message.crl[i] = $util.newBuffer($util.base64.length(object.crl[i])), 0);
                else if (object.crl[i].length >= 0)
                    message.crl[i] = object.crl[i];
        }
        if (object.federated_bundles) {
            if (!$util.isObject(object.federated_bundles))
                throw TypeError(".X509SVIDResponse.federated_bundles: object expected");
            message.federated_bundles = {};
            for (let keys = Object.keys(object.federated_bundles), i = 0; i < keys.length; ++i) {
                if (keys[i] === "__proto__")
                    $util.makeProp(message.federated_bundles, keys[i]);
                if (typeof object.federated_bundles[keys[i]] === "string")
                    $util.base64.decode(object.federated_bundles[keys[i]], message.federated_bundles[keys[i]] = $util.newBuffer($util.base64.length(object.federated_bundles[keys[i]])), 0);
                else if (object.federated_bundles[keys[i]].length >= 0)
                    message.federated_bundles[keys[i]] = object.federated_bundles[keys[i]];
            }
        }
        return message;
    };

    X509SVIDResponse.toObject = function toObject(message, options, q) {
        if (!options)
            options = {};
        if (q === undefined)
            q = 0;
        if (q > $util.recursionLimit)
            throw Error("max depth exceeded");
        let object = {};
        if (options.arrays || options.defaults) {
            object.svids = [];
            object.crl = [];
        }
        if (options.objects || options.defaults)
            object.federated_bundles = {};
        if (message.svids && message.svids.length) {
            object.svids = [];
            for (let j = 0; j < message.svids.length; ++j)
                object.svids[j] = $root.X509SVID.toObject(message.svids[j], options, q + 1);
        }
        if (message.crl && message.crl.length) {
            object.crl = [];
            for (let j = 0; j < message.crl.length; ++j)
                object.crl[j] = options.bytes === String ? $util.base64.encode(message.crl[j], 0, message.crl[j].length) : options.bytes === Array ? Array.prototype.slice.call(message.crl[j]) : message.crl[j];
        }
        let keys2;
        if (message.federated_bundles && (keys2 = Object.keys(message.federated_bundles)).length) {
            object.federated_bundles = {};
            for (let j = 0; j < keys2.length; ++j) {
                if (keys2[j] === "__proto__")
                    $util.makeProp(object.federated_bundles, keys2[j]);
                object.federated_bundles[keys2[j]] = options.bytes === String ? $util.base64.encode(message.federated_bundles[keys2[j]], 0, message.federated_bundles[keys2[j]].length) : options.bytes === Array ? Array.prototype.slice.call(message.federated_bundles[keys2[j]]) : message.federated_bundles[keys2[j]];
            }
        }
        return object;
    };

    X509SVIDResponse.prototype.toJSON = function toJSON() {
        return this.constructor.toObject(this, $protobuf.util.toJSONOptions);
    };

    return X509SVIDResponse;
})();

export const X509SVID = $root.X509SVID = (() => {

    function X509SVID(properties) {
        if (properties)
            for (let keys = Object.keys(properties), i = 0; i < keys.length; ++i)
                if (properties[keys[i]] != null && keys[i] !== "__proto__")
                    this[keys[i]] = properties[keys[i]];
    }

    X509SVID.prototype.spiffe_id = "";
    X509SVID.prototype.x509_svid = $util.newBuffer([]);
    X509SVID.prototype.x509_svid_key = $util.newBuffer([]);
    X509SVID.prototype.bundle = $util.newBuffer([]);
    X509SVID.prototype.hint = "";

    X509SVID.create = function create(properties) {
        return new X509SVID(properties);
    };

    X509SVID.encode = function encode(message, writer, q) {
        if (!writer)
            writer = $Writer.create();
        if (q === undefined)
            q = 0;
        if (q > $util.recursionLimit)
            throw Error("max depth exceeded");
        if (message.spiffe_id != null && Object.hasOwnProperty.call(message, "spiffe_id"))
            writer.uint32(10).string(message.spiffe_id);
        if (message.x509_svid != null && Object.hasOwnProperty.call(message, "x509_svid"))
            writer.uint32(18).bytes(message.x509_svid);
        if (message.x509_svid_key != null && Object.hasOwnProperty.call(message, "x509_svid_key"))
            writer.uint32(26).bytes(message.x509_svid_key);
        if (message.bundle != null && Object.hasOwnProperty.call(message, "bundle"))
            writer.uint32(34).bytes(message.bundle);
        if (message.hint != null && Object.hasOwnProperty.call(message, "hint"))
            writer.uint32(42).string(message.hint);
        return writer;
    };

    X509SVID.decode = function decode(reader, length, error, long) {
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
        message = new $root.X509SVID();
        while (reader.pos < end) {
            let tag = reader.uint32();
            if (tag === error)
                break;
            switch (tag >>> 3) {
            case 1: {
                    message.spiffe_id = reader.string();
                    break;
                }
            case 2: {
                    message.x509_svid = reader.bytes();
                    break;
                }
            case 3: {
                    message.x509_svid_key = reader.bytes();
                    break;
                }
            case 4: {
                    message.bundle = reader.bytes();
                    break;
                }
            case 5: {
                    message.hint = reader.string();
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

    X509SVID.fromObject = function fromObject(object, long) {
        if (object instanceof $root.X509SVID)
            return object;
        if (!$util.isObject(object))
            throw TypeError(".X509SVID: object expected");
        if (long === undefined)
            long = 0;
        if (long > $util.recursionLimit)
            throw Error("maximum nesting depth exceeded");
        let message = new $root.X509SVID();
        if (object.spiffe_id != null)
            message.spiffe_id = String(object.spiffe_id);
        if (object.x509_svid != null)
            if (typeof object.x509_svid === "string")
                $util.base64.decode(object.x509_svid, message.x509_svid = $util.newBuffer($util.base64.length(object.x509_svid)), 0);
            else if (object.x509_svid.length >= 0)
                message.x509_svid = object.x509_svid;
        if (object.x509_svid_key != null)
            if (typeof object.x509_svid_key === "string")
                $util.base64.decode(object.x509_svid_key, message.x509_svid_key = $util.newBuffer($util.base64.length(object.x509_svid_key)), 0);
            else if (object.x509_svid_key.length >= 0)
                message.x509_svid_key = object.x509_svid_key;
        if (object.bundle != null)
            if (typeof object.bundle === "string")
                $util.base64.decode(object.bundle, message.bundle = $util.newBuffer($util.base64.length(object.bundle)), 0);
            else if (object.bundle.length >= 0)
                message.bundle = object.bundle;
        if (object.hint != null)
            message.hint = String(object.hint);
        return message;
    };

    X509SVID.toObject = function toObject(message, options, q) {
        if (!options)
            options = {};
        if (q === undefined)
            q = 0;
        if (q > $util.recursionLimit)
            throw Error("max depth exceeded");
        let object = {};
        if (options.defaults) {
            object.spiffe_id = "";
            if (options.bytes === String)
                object.x509_svid = "";
            else {
                object.x509_svid = [];
                if (options.bytes !== Array)
                    object.x509_svid = $util.newBuffer(object.x509_svid);
            }
            if (options.bytes === String)
                object.x509_svid_key = "";
            else {
                object.x509_svid_key = [];
                if (options.bytes !== Array)
                    object.x509_svid_key = $util.newBuffer(object.x509_svid_key);
            }
            if (options.bytes === String)
                object.bundle = "";
            else {
                object.bundle = [];
                if (options.bytes !== Array)
                    object.bundle = $util.newBuffer(object.bundle);
            }
            object.hint = "";
        }
        if (message.spiffe_id != null && Object.hasOwnProperty.call(message, "spiffe_id"))
            object.spiffe_id = message.spiffe_id;
        if (message.x509_svid != null && Object.hasOwnProperty.call(message, "x509_svid"))
            object.x509_svid = options.bytes === String ? $util.base64.encode(message.x509_svid, 0, message.x509_svid.length) : options.bytes === Array ? Array.prototype.slice.call(message.x509_svid) : message.x509_svid;
        if (message.x509_svid_key != null && Object.hasOwnProperty.call(message, "x509_svid_key"))
            object.x509_svid_key = options.bytes === String ? $util.base64.encode(message.x509_svid_key, 0, message.x509_svid_key.length) : options.bytes === Array ? Array.prototype.slice.call(message.x509_svid_key) : message.x509_svid_key;
        if (message.bundle != null && Object.hasOwnProperty.call(message, "bundle"))
            object.bundle = options.bytes === String ? $util.base64.encode(message.bundle, 0, message.bundle.length) : options.bytes === Array ? Array.prototype.slice.call(message.bundle) : message.bundle;
        if (message.hint != null && Object.hasOwnProperty.call(message, "hint"))
            object.hint = message.hint;
        return object;
    };

    X509SVID.prototype.toJSON = function toJSON() {
        return this.constructor.toObject(this, $protobuf.util.toJSONOptions);
    };

    return X509SVID;
})();

export const X509BundlesRequest = $root.X509BundlesRequest = (() => {

    function X509BundlesRequest(properties) {
        if (properties)
            for (let keys = Object.keys(properties), i = 0; i < keys.length; ++i)
                if (properties[keys[i]] != null && keys[i] !== "__proto__")
                    this[keys[i]] = properties[keys[i]];
    }

    X509BundlesRequest.create = function create(properties) {
        return new X509BundlesRequest(properties);
    };

    X509BundlesRequest.encode = function encode(message, writer, q) {
        if (!writer)
            writer = $Writer.create();
        if (q === undefined)
            q = 0;
        if (q > $util.recursionLimit)
            throw Error("max depth exceeded");
        return writer;
    };

    X509BundlesRequest.decode = function decode(reader, length, error, long) {
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
        message = new $root.X509BundlesRequest();
        while (reader.pos < end) {
            let tag = reader.uint32();
            if (tag === error)
                break;
            switch (tag >>> 3) {
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

    X509BundlesRequest.fromObject = function fromObject(object, long) {
        if (object instanceof $root.X509BundlesRequest)
            return object;
        return new $root.X509BundlesRequest();
    };

    X509BundlesRequest.toObject = function toObject() {
        return {};
    };

    X509BundlesRequest.prototype.toJSON = function toJSON() {
        return this.constructor.toObject(this, $protobuf.util.toJSONOptions);
    };

    return X509BundlesRequest;
})();

export const X509BundlesResponse = $root.X509BundlesResponse = (() => {

    function X509BundlesResponse(properties) {
        this.crl = [];
        this.bundles = {};
        if (properties)
            for (let keys = Object.keys(properties), i = 0; i < keys.length; ++i)
                if (properties[keys[i]] != null && keys[i] !== "__proto__")
                    this[keys[i]] = properties[keys[i]];
    }

    X509BundlesResponse.prototype.crl = $util.emptyArray;
    X509BundlesResponse.prototype.bundles = $util.emptyObject;

    X509BundlesResponse.create = function create(properties) {
        return new X509BundlesResponse(properties);
    };

    X509BundlesResponse.encode = function encode(message, writer, q) {
        if (!writer)
            writer = $Writer.create();
        if (q === undefined)
            q = 0;
        if (q > $util.recursionLimit)
            throw Error("max depth exceeded");
        if (message.crl != null && message.crl.length)
            for (let i = 0; i < message.crl.length; ++i)
                writer.uint32(10).bytes(message.crl[i]);
        if (message.bundles != null && Object.hasOwnProperty.call(message, "bundles"))
            for (let keys = Object.keys(message.bundles), i = 0; i < keys.length; ++i)
                writer.uint32(18).fork().uint32(10).string(keys[i]).uint32(18).bytes(message.bundles[keys[i]]).ldelim();
        return writer;
    };

    X509BundlesResponse.decode = function decode(reader, length, error, long) {
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
        message = new $root.X509BundlesResponse();
        while (reader.pos < end) {
            let tag = reader.uint32();
            if (tag === error)
                break;
            switch (tag >>> 3) {
            case 1: {
                    if (!(message.crl && message.crl.length))
                        message.crl = [];
                    message.crl.push(reader.bytes());
                    break;
                }
            case 2: {
                    if (message.bundles === $util.emptyObject)
                        message.bundles = {};
                    let end2 = reader.uint32() + reader.pos;
                    if (end2 > reader.len)
                        throw RangeError("index out of range");
                    reader.len = end2;
                    key = "";
                    value = [];
                    while (reader.pos < end2) {
                        let tag2 = reader.uint32();
                        switch (tag2 >>> 3) {
                        case 1:
                            key = reader.string();
                            break;
                        case 2:
                            value = reader.bytes();
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
                        $util.makeProp(message.bundles, key);
                    message.bundles[key] = value;
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

    X509BundlesResponse.fromObject = function fromObject(object, long) {
        if (object instanceof $root.X509BundlesResponse)
            return object;
        if (!$util.isObject(object))
            throw TypeError(".X509BundlesResponse: object expected");
        if (long === undefined)
            long = 0;
        if (long > $util.recursionLimit)
            throw Error("maximum nesting depth exceeded");
        let message = new $root.X509BundlesResponse();
        if (object.crl) {
            if (!Array.isArray(object.crl))
                throw TypeError(".X509BundlesResponse.crl: array expected");
            message.crl = [];
            for (let i = 0; i < object.crl.length; ++i)
                if (typeof object.crl[i] === "string")
                    $util.base64.decode(object.crl[i], message.crl[i] = $util.newBuffer($util.base64.length(object.crl[i])), 0);
                else if (object.crl[i].length >= 0)
                    message.crl[i] = object.crl[i];
        }
        if (object.bundles) {
            if (!$util.isObject(object.bundles))
                throw TypeError(".X509BundlesResponse.bundles: object expected");
            message.bundles = {};
            for (let keys = Object.keys(object.bundles), i = 0; i < keys.length; ++i) {
                if (keys[i] === "__proto__")
                    $util.makeProp(message.bundles, keys[i]);
                if (typeof object.bundles[keys[i]] === "string")
                    $util.base64.decode(object.bundles[keys[i]], message.bundles[keys[i]] = $util.newBuffer($util.base64.length(object.bundles[keys[i]])), 0);
                else if (object.bundles[keys[i]].length >= 0)
                    message.bundles[keys[i]] = object.bundles[keys[i]];
            }
        }
        return message;
    };

    X509BundlesResponse.toObject = function toObject(message, options, q) {
        if (!options)
            options = {};
        if (q === undefined)
            q = 0;
        if (q > $util.recursionLimit)
            throw Error("max depth exceeded");
        let object = {};
        if (options.arrays || options.defaults)
            object.crl = [];
        if (options.objects || options.defaults)
            object.bundles = {};
        if (message.crl && message.crl.length) {
            object.crl = [];
            for (let j = 0; j < message.crl.length; ++j)
                object.crl[j] = options.bytes === String ? $util.base64.encode(message.crl[j], 0, message.crl[j].length) : options.bytes === Array ? Array.prototype.slice.call(message.crl[j]) : message.crl[j];
        }
        let keys2;
        if (message.bundles && (keys2 = Object.keys(message.bundles)).length) {
            object.bundles = {};
            for (let j = 0; j < keys2.length; ++j) {
                if (keys2[j] === "__proto__")
                    $util.makeProp(object.bundles, keys2[j]);
                object.bundles[keys2[j]] = options.bytes === String ? $util.base64.encode(message.bundles[keys2[j]], 0, message.bundles[keys2[j]].length) : options.bytes === Array ? Array.prototype.slice.call(message.bundles[keys2[j]]) : message.bundles[keys2[j]];
            }
        }
        return object;
    };

    X509BundlesResponse.prototype.toJSON = function toJSON() {
        return this.constructor.toObject(this, $protobuf.util.toJSONOptions);
    };

    return X509BundlesResponse;
})();

export const JWTSVIDRequest = $root.JWTSVIDRequest = (() => {

    function JWTSVIDRequest(properties) {
        this.audience = [];
        if (properties)
            for (let keys = Object.keys(properties), i = 0; i < keys.length; ++i)
                if (properties[keys[i]] != null && keys[i] !== "__proto__")
                    this[keys[i]] = properties[keys[i]];
    }

    JWTSVIDRequest.prototype.audience = $util.emptyArray;
    JWTSVIDRequest.prototype.spiffe_id = "";

    JWTSVIDRequest.create = function create(properties) {
        return new JWTSVIDRequest(properties);
    };

    JWTSVIDRequest.encode = function encode(message, writer, q) {
        if (!writer)
            writer = $Writer.create();
        if (q === undefined)
            q = 0;
        if (q > $util.recursionLimit)
            throw Error("max depth exceeded");
        if (message.audience != null && message.audience.length)
            for (let i = 0; i < message.audience.length; ++i)
                writer.uint32(10).string(message.audience[i]);
        if (message.spiffe_id != null && Object.hasOwnProperty.call(message, "spiffe_id"))
            writer.uint32(18).string(message.spiffe_id);
        return writer;
    };

    JWTSVIDRequest.decode = function decode(reader, length, error, long) {
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
        message = new $root.JWTSVIDRequest();
        while (reader.pos < end) {
            let tag = reader.uint32();
            if (tag === error)
                break;
            switch (tag >>> 3) {
            case 1: {
                    if (!(message.audience && message.audience.length))
                        message.audience = [];
                    message.audience.push(reader.string());
                    break;
                }
            case 2: {
                    message.spiffe_id = reader.string();
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

    JWTSVIDRequest.fromObject = function fromObject(object, long) {
        if (object instanceof $root.JWTSVIDRequest)
            return object;
        if (!$util.isObject(object))
            throw TypeError(".JWTSVIDRequest: object expected");
        if (long === undefined)
            long = 0;
        if (long > $util.recursionLimit)
            throw Error("maximum nesting depth exceeded");
        let message = new $root.JWTSVIDRequest();
        if (object.audience) {
            if (!Array.isArray(object.audience))
                throw TypeError(".JWTSVIDRequest.audience: array expected");
            message.audience = [];
            for (let i = 0; i < object.audience.length; ++i)
                message.audience[i] = String(object.audience[i]);
        }
        if (object.spiffe_id != null)
            message.spiffe_id = String(object.spiffe_id);
        return message;
    };

    JWTSVIDRequest.toObject = function toObject(message, options, q) {
        if (!options)
            options = {};
        if (q === undefined)
            q = 0;
        if (q > $util.recursionLimit)
            throw Error("max depth exceeded");
        let object = {};
        if (options.arrays || options.defaults)
            object.audience = [];
        if (options.defaults)
            object.spiffe_id = "";
        if (message.audience && message.audience.length) {
            object.audience = [];
            for (let j = 0; j < message.audience.length; ++j)
                object.audience[j] = message.audience[j];
        }
        if (message.spiffe_id != null && Object.hasOwnProperty.call(message, "spiffe_id"))
            object.spiffe_id = message.spiffe_id;
        return object;
    };

    JWTSVIDRequest.prototype.toJSON = function toJSON() {
        return this.constructor.toObject(this, $protobuf.util.toJSONOptions);
    };

    return JWTSVIDRequest;
})();

export const JWTSVIDResponse = $root.JWTSVIDResponse = (() => {

    function JWTSVIDResponse(properties) {
        this.svids = [];
        if (properties)
            for (let keys = Object.keys(properties), i = 0; i < keys.length; ++i)
                if (properties[keys[i]] != null && keys[i] !== "__proto__")
                    this[keys[i]] = properties[keys[i]];
    }

    JWTSVIDResponse.prototype.svids = $util.emptyArray;

    JWTSVIDResponse.create = function create(properties) {
        return new JWTSVIDResponse(properties);
    };

    JWTSVIDResponse.encode = function encode(message, writer, q) {
        if (!writer)
            writer = $Writer.create();
        if (q === undefined)
            q = 0;
        if (q > $util.recursionLimit)
            throw Error("max depth exceeded");
        if (message.svids != null && message.svids.length)
            for (let i = 0; i < message.svids.length; ++i)
                $root.JWTSVID.encode(message.svids[i], writer.uint32(10).fork(), q + 1).ldelim();
        return writer;
    };

    JWTSVIDResponse.decode = function decode(reader, length, error, long) {
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
        message = new $root.JWTSVIDResponse();
        while (reader.pos < end) {
            let tag = reader.uint32();
            if (tag === error)
                break;
            switch (tag >>> 3) {
            case 1: {
                    if (!(message.svids && message.svids.length))
                        message.svids = [];
                    message.svids.push($root.JWTSVID.decode(reader, reader.uint32(), undefined, long + 1));
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

    JWTSVIDResponse.fromObject = function fromObject(object, long) {
        if (object instanceof $root.JWTSVIDResponse)
            return object;
        if (!$util.isObject(object))
            throw TypeError(".JWTSVIDResponse: object expected");
        if (long === undefined)
            long = 0;
        if (long > $util.recursionLimit)
            throw Error("maximum nesting depth exceeded");
        let message = new $root.JWTSVIDResponse();
        if (object.svids) {
            if (!Array.isArray(object.svids))
                throw TypeError(".JWTSVIDResponse.svids: array expected");
            message.svids = [];
            for (let i = 0; i < object.svids.length; ++i) {
                if (!$util.isObject(object.svids[i]))
                    throw TypeError(".JWTSVIDResponse.svids: object expected");
                message.svids[i] = $root.JWTSVID.fromObject(object.svids[i], long + 1);
            }
        }
        return message;
    };

    JWTSVIDResponse.toObject = function toObject(message, options, q) {
        if (!options)
            options = {};
        if (q === undefined)
            q = 0;
        if (q > $util.recursionLimit)
            throw Error("max depth exceeded");
        let object = {};
        if (options.arrays || options.defaults)
            object.svids = [];
        if (message.svids && message.svids.length) {
            object.svids = [];
            for (let j = 0; j < message.svids.length; ++j)
                object.svids[j] = $root.JWTSVID.toObject(message.svids[j], options, q + 1);
        }
        return object;
    };

    JWTSVIDResponse.prototype.toJSON = function toJSON() {
        return this.constructor.toObject(this, $protobuf.util.toJSONOptions);
    };

    return JWTSVIDResponse;
})();

export const JWTSVID = $root.JWTSVID = (() => {

    function JWTSVID(properties) {
        if (properties)
            for (let keys = Object.keys(properties), i = 0; i < keys.length; ++i)
                if (properties[keys[i]] != null && keys[i] !== "__proto__")
                    this[keys[i]] = properties[keys[i]];
    }

    JWTSVID.prototype.spiffe_id = "";
    JWTSVID.prototype.svid = "";
    JWTSVID.prototype.hint = "";

    JWTSVID.create = function create(properties) {
        return new JWTSVID(properties);
    };

    JWTSVID.encode = function encode(message, writer, q) {
        if (!writer)
            writer = $Writer.create();
        if (q === undefined)
            q = 0;
        if (q > $util.recursionLimit)
            throw Error("max depth exceeded");
        if (message.spiffe_id != null && Object.hasOwnProperty.call(message, "spiffe_id"))
            writer.uint32(10).string(message.spiffe_id);
        if (message.svid != null && Object.hasOwnProperty.call(message, "svid"))
            writer.uint32(18).string(message.svid);
        if (message.hint != null && Object.hasOwnProperty.call(message, "hint"))
            writer.uint32(26).string(message.hint);
        return writer;
    };

    JWTSVID.decode = function decode(reader, length, error, long) {
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
        message = new $root.JWTSVID();
        while (reader.pos < end) {
            let tag = reader.uint32();
            if (tag === error)
                break;
            switch (tag >>> 3) {
            case 1: {
                    message.spiffe_id = reader.string();
                    break;
                }
            case 2: {
                    message.svid = reader.string();
                    break;
                }
            case 3: {
                    message.hint = reader.string();
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

    JWTSVID.fromObject = function fromObject(object, long) {
        if (object instanceof $root.JWTSVID)
            return object;
        if (!$util.isObject(object))
            throw TypeError(".JWTSVID: object expected");
        if (long === undefined)
            long = 0;
        if (long > $util.recursionLimit)
            throw Error("maximum nesting depth exceeded");
        let message = new $root.JWTSVID();
        if (object.spiffe_id != null)
            message.spiffe_id = String(object.spiffe_id);
        if (object.svid != null)
            message.svid = String(object.svid);
        if (object.hint != null)
            message.hint = String(object.hint);
        return message;
    };

    JWTSVID.toObject = function toObject(message, options, q) {
        if (!options)
            options = {};
        if (q === undefined)
            q = 0;
        if (q > $util.recursionLimit)
            throw Error("max depth exceeded");
        let object = {};
        if (options.defaults) {
            object.spiffe_id = "";
            object.svid = "";
            object.hint = "";
        }
        if (message.spiffe_id != null && Object.hasOwnProperty.call(message, "spiffe_id"))
            object.spiffe_id = message.spiffe_id;
        if (message.svid != null && Object.hasOwnProperty.call(message, "svid"))
            object.svid = message.svid;
        if (message.hint != null && Object.hasOwnProperty.call(message, "hint"))
            object.hint = message.hint;
        return object;
    };

    JWTSVID.prototype.toJSON = function toJSON() {
        return this.constructor.toObject(this, $protobuf.util.toJSONOptions);
    };

    return JWTSVID;
})();

export const JWTBundlesRequest = $root.JWTBundlesRequest = (() => {

    function JWTBundlesRequest(properties) {
        if (properties)
            for (let keys = Object.keys(properties), i = 0; i < keys.length; ++i)
                if (properties[keys[i]] != null && keys[i] !== "__proto__")
                    this[keys[i]] = properties[keys[i]];
    }

    JWTBundlesRequest.create = function create(properties) {
        return new JWTBundlesRequest(properties);
    };

    JWTBundlesRequest.encode = function encode(message, writer, q) {
        if (!writer)
            writer = $Writer.create();
        if (q === undefined)
            q = 0;
        if (q > $util.recursionLimit)
            throw Error("max depth exceeded");
        return writer;
    };

    JWTBundlesRequest.decode = function decode(reader, length, error, long) {
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
        message = new $root.JWTBundlesRequest();
        while (reader.pos < end) {
            let tag = reader.uint32();
            if (tag === error)
                break;
            switch (tag >>> 3) {
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

    JWTBundlesRequest.fromObject = function fromObject(object, long) {
        if (object instanceof $root.JWTBundlesRequest)
            return object;
        return new $root.JWTBundlesRequest();
    };

    JWTBundlesRequest.toObject = function toObject() {
        return {};
    };

    JWTBundlesRequest.prototype.toJSON = function toJSON() {
        return this.constructor.toObject(this, $protobuf.util.toJSONOptions);
    };

    return JWTBundlesRequest;
})();

export const JWTBundlesResponse = $root.JWTBundlesResponse = (() => {

    function JWTBundlesResponse(properties) {
        this.bundles = {};
        if (properties)
            for (let keys = Object.keys(properties), i = 0; i < keys.length; ++i)
                if (properties[keys[i]] != null && keys[i] !== "__proto__")
                    this[keys[i]] = properties[keys[i]];
    }

    JWTBundlesResponse.prototype.bundles = $util.emptyObject;

    JWTBundlesResponse.create = function create(properties) {
        return new JWTBundlesResponse(properties);
    };

    JWTBundlesResponse.encode = function encode(message, writer, q) {
        if (!writer)
            writer = $Writer.create();
        if (q === undefined)
            q = 0;
        if (q > $util.recursionLimit)
            throw Error("max depth exceeded");
        if (message.bundles != null && Object.hasOwnProperty.call(message, "bundles"))
            for (let keys = Object.keys(message.bundles), i = 0; i < keys.length; ++i)
                writer.uint32(10).fork().uint32(10).string(keys[i]).uint32(18).bytes(message.bundles[keys[i]]).ldelim();
        return writer;
    };

    JWTBundlesResponse.decode = function decode(reader, length, error, long) {
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
        message = new $root.JWTBundlesResponse();
        while (reader.pos < end) {
            let tag = reader.uint32();
            if (tag === error)
                break;
            switch (tag >>> 3) {
            case 1: {
                    if (message.bundles === $util.emptyObject)
                        message.bundles = {};
                    let end2 = reader.uint32() + reader.pos;
                    if (end2 > reader.len)
                        throw RangeError("index out of range");
                    reader.len = end2;
                    key = "";
                    value = [];
                    while (reader.pos < end2) {
                        let tag2 = reader.uint32();
                        switch (tag2 >>> 3) {
                        case 1:
                            key = reader.string();
                            break;
                        case 2:
                            value = reader.bytes();
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
                        $util.makeProp(message.bundles, key);
                    message.bundles[key] = value;
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

    JWTBundlesResponse.fromObject = function fromObject(object, long) {
        if (object instanceof $root.JWTBundlesResponse)
            return object;
        if (!$util.isObject(object))
            throw TypeError(".JWTBundlesResponse: object expected");
        if (long === undefined)
            long = 0;
        if (long > $util.recursionLimit)
            throw Error("maximum nesting depth exceeded");
        let message = new $root.JWTBundlesResponse();
        if (object.bundles) {
            if (!$util.isObject(object.bundles))
                throw TypeError(".JWTBundlesResponse.bundles: object expected");
            message.bundles = {};
            for (let keys = Object.keys(object.bundles), i = 0; i < keys.length; ++i) {
                if (keys[i] === "__proto__")
                    $util.makeProp(message.bundles, keys[i]);
                if (typeof object.bundles[keys[i]] === "string")
                    $util.base64.decode(object.bundles[keys[i]], message.bundles[keys[i]] = $util.newBuffer($util.base64.length(object.bundles[keys[i]])), 0);
                else if (object.bundles[keys[i]].length >= 0)
                    message.bundles[keys[i]] = object.bundles[keys[i]];
            }
        }
        return message;
    };

    JWTBundlesResponse.toObject = function toObject(message, options, q) {
        if (!options)
            options = {};
        if (q === undefined)
            q = 0;
        if (q > $util.recursionLimit)
            throw Error("max depth exceeded");
        let object = {};
        if (options.objects || options.defaults)
            object.bundles = {};
        let keys2;
        if (message.bundles && (keys2 = Object.keys(message.bundles)).length) {
            object.bundles = {};
            for (let j = 0; j < keys2.length; ++j) {
                if (keys2[j] === "__proto__")
                    $util.makeProp(object.bundles, keys2[j]);
                object.bundles[keys2[j]] = options.bytes === String ? $util.base64.encode(message.bundles[keys2[j]], 0, message.bundles[keys2[j]].length) : options.bytes === Array ? Array.prototype.slice.call(message.bundles[keys2[j]]) : message.bundles[keys2[j]];
            }
        }
        return object;
    };

    JWTBundlesResponse.prototype.toJSON = function toJSON() {
        return this.constructor.toObject(this, $protobuf.util.toJSONOptions);
    };

    return JWTBundlesResponse;
})();

export const ValidateJWTSVIDRequest = $root.ValidateJWTSVIDRequest = (() => {

    function ValidateJWTSVIDRequest(properties) {
        if (properties)
            for (let keys = Object.keys(properties), i = 0; i < keys.length; ++i)
                if (properties[keys[i]] != null && keys[i] !== "__proto__")
                    this[keys[i]] = properties[keys[i]];
    }

    ValidateJWTSVIDRequest.prototype.audience = "";
    ValidateJWTSVIDRequest.prototype.svid = "";

    ValidateJWTSVIDRequest.create = function create(properties) {
        return new ValidateJWTSVIDRequest(properties);
    };

    ValidateJWTSVIDRequest.encode = function encode(message, writer, q) {
        if (!writer)
            writer = $Writer.create();
        if (q === undefined)
            q = 0;
        if (q > $util.recursionLimit)
            throw Error("max depth exceeded");
        if (message.audience != null && Object.hasOwnProperty.call(message, "audience"))
            writer.uint32(10).string(message.audience);
        if (message.svid != null && Object.hasOwnProperty.call(message, "svid"))
            writer.uint32(18).string(message.svid);
        return writer;
    };

    ValidateJWTSVIDRequest.decode = function decode(reader, length, error, long) {
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
        message = new $root.ValidateJWTSVIDRequest();
        while (reader.pos < end) {
            let tag = reader.uint32();
            if (tag === error)
                break;
            switch (tag >>> 3) {
            case 1: {
                    message.audience = reader.string();
                    break;
                }
            case 2: {
                    message.svid = reader.string();
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

    ValidateJWTSVIDRequest.fromObject = function fromObject(object, long) {
        if (object instanceof $root.ValidateJWTSVIDRequest)
            return object;
        if (!$util.isObject(object))
            throw TypeError(".ValidateJWTSVIDRequest: object expected");
        if (long === undefined)
            long = 0;
        if (long > $util.recursionLimit)
            throw Error("maximum nesting depth exceeded");
        let message = new $root.ValidateJWTSVIDRequest();
        if (object.audience != null)
            message.audience = String(object.audience);
        if (object.svid != null)
            message.svid = String(object.svid);
        return message;
    };

    ValidateJWTSVIDRequest.toObject = function toObject(message, options, q) {
        if (!options)
            options = {};
        if (q === undefined)
            q = 0;
        if (q > $util.recursionLimit)
            throw Error("max depth exceeded");
        let object = {};
        if (options.defaults) {
            object.audience = "";
            object.svid = "";
        }
        if (message.audience != null && Object.hasOwnProperty.call(message, "audience"))
            object.audience = message.audience;
        if (message.svid != null && Object.hasOwnProperty.call(message, "svid"))
            object.svid = message.svid;
        return object;
    };

    ValidateJWTSVIDRequest.prototype.toJSON = function toJSON() {
        return this.constructor.toObject(this, $protobuf.util.toJSONOptions);
    };

    return ValidateJWTSVIDRequest;
})();

export const ValidateJWTSVIDResponse = $root.ValidateJWTSVIDResponse = (() => {

    function ValidateJWTSVIDResponse(properties) {
        if (properties)
            for (let keys = Object.keys(properties), i = 0; i < keys.length; ++i)
                if (properties[keys[i]] != null && keys[i] !== "__proto__")
                    this[keys[i]] = properties[keys[i]];
    }

    ValidateJWTSVIDResponse.prototype.spiffe_id = "";
    ValidateJWTSVIDResponse.prototype.claims = null;

    ValidateJWTSVIDResponse.create = function create(properties) {
        return new ValidateJWTSVIDResponse(properties);
    };

    ValidateJWTSVIDResponse.encode = function encode(message, writer, q) {
        if (!writer)
            writer = $Writer.create();
        if (q === undefined)
            q = 0;
        if (q > $util.recursionLimit)
            throw Error("max depth exceeded");
        if (message.spiffe_id != null && Object.hasOwnProperty.call(message, "spiffe_id"))
            writer.uint32(10).string(message.spiffe_id);
        if (message.claims != null && Object.hasOwnProperty.call(message, "claims"))
            $root.google.protobuf.Struct.encode(message.claims, writer.uint32(18).fork(), q + 1).ldelim();
        return writer;
    };

    ValidateJWTSVIDResponse.decode = function decode(reader, length, error, long) {
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
        message = new $root.ValidateJWTSVIDResponse();
        while (reader.pos < end) {
            let tag = reader.uint32();
            if (tag === error)
                break;
            switch (tag >>> 3) {
            case 1: {
                    message.spiffe_id = reader.string();
                    break;
                }
            case 2: {
                    message.claims = $root.google.protobuf.Struct.decode(reader, reader.uint32(), undefined, long + 1);
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

    ValidateJWTSVIDResponse.fromObject = function fromObject(object, long) {
        if (object instanceof $root.ValidateJWTSVIDResponse)
            return object;
        if (!$util.isObject(object))
            throw TypeError(".ValidateJWTSVIDResponse: object expected");
        if (long === undefined)
            long = 0;
        if (long > $util.recursionLimit)
            throw Error("maximum nesting depth exceeded");
        let message = new $root.ValidateJWTSVIDResponse();
        if (object.spiffe_id != null)
            message.spiffe_id = String(object.spiffe_id);
        if (object.claims != null) {
            if (!$util.isObject(object.claims))
                throw TypeError(".ValidateJWTSVIDResponse.claims: object expected");
            message.claims = $root.google.protobuf.Struct.fromObject(object.claims, long + 1);
        }
        return message;
    };

    ValidateJWTSVIDResponse.toObject = function toObject(message, options, q) {
        if (!options)
            options = {};
        if (q === undefined)
            q = 0;
        if (q > $util.recursionLimit)
            throw Error("max depth exceeded");
        let object = {};
        if (options.defaults) {
            object.spiffe_id = "";
            object.claims = null;
        }
        if (message.spiffe_id != null && Object.hasOwnProperty.call(message, "spiffe_id"))
            object.spiffe_id = message.spiffe_id;
        if (message.claims != null && Object.hasOwnProperty.call(message, "claims"))
            object.claims = $root.google.protobuf.Struct.toObject(message.claims, options, q + 1);
        return object;
    };

    ValidateJWTSVIDResponse.prototype.toJSON = function toJSON() {
        return this.constructor.toObject(this, $protobuf.util.toJSONOptions);
    };

    return ValidateJWTSVIDResponse;
})();

export const google = $root.google = (() => {

    const google = {};

    google.protobuf = (function() {

        const protobuf = {};

        protobuf.Struct = (function() {

            function Struct(properties) {
                this.fields = {};
                if (properties)
                    for (let keys = Object.keys(properties), i = 0; i < keys.length; ++i)
                        if (properties[keys[i]] != null && keys[i] !== "__proto__")
                            this[keys[i]] = properties[keys[i]];
            }

            Struct.prototype.fields = $util.emptyObject;

            Struct.create = function create(properties) {
                return new Struct(properties);
            };

            Struct.encode = function encode(message, writer, q) {
                if (!writer)
                    writer = $Writer.create();
                if (q === undefined)
                    q = 0;
                if (q > $util.recursionLimit)
                    throw Error("max depth exceeded");
                if (message.fields != null && Object.hasOwnProperty.call(message, "fields"))
                    for (let keys = Object.keys(message.fields), i = 0; i < keys.length; ++i) {
                        writer.uint32(10).fork().uint32(10).string(keys[i]);
                        $root.google.protobuf.Value.encode(message.fields[keys[i]], writer.uint32(18).fork(), q + 1).ldelim().ldelim();
                    }
                return writer;
            };

            Struct.decode = function decode(reader, length, error, long) {
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
                message = new $root.google.protobuf.Struct();
                while (reader.pos < end) {
                    let tag = reader.uint32();
                    if (tag === error)
                        break;
                    switch (tag >>> 3) {
                    case 1: {
                            if (message.fields === $util.emptyObject)
                                message.fields = {};
                            let end2 = reader.uint32() + reader.pos;
                            if (end2 > reader.len)
                                throw RangeError("index out of range");
                            reader.len = end2;
                            key = "";
                            value = null;
                            while (reader.pos < end2) {
                                let tag2 = reader.uint32();
                                switch (tag2 >>> 3) {
                                case 1:
                                    key = reader.string();
                                    break;
                                case 2:
                                    value = $root.google.protobuf.Value.decode(reader, reader.uint32(), undefined, long + 1);
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
                                $util.makeProp(message.fields, key);
                            message.fields[key] = value;
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

            Struct.fromObject = function fromObject(object, long) {
                if (object instanceof $root.google.protobuf.Struct)
                    return object;
                if (!$util.isObject(object))
                    throw TypeError(".google.protobuf.Struct: object expected");
                if (long === undefined)
                    long = 0;
                if (long > $util.recursionLimit)
                    throw Error("maximum nesting depth exceeded");
                let message = new $root.google.protobuf.Struct();
                if (object.fields) {
                    if (!$util.isObject(object.fields))
                        throw TypeError(".google.protobuf.Struct.fields: object expected");
                    message.fields = {};
                    for (let keys = Object.keys(object.fields), i = 0; i < keys.length; ++i) {
                        if (keys[i] === "__proto__")
                            $util.makeProp(message.fields, keys[i]);
                        if (!$util.isObject(object.fields[keys[i]]))
                            throw TypeError(".google.protobuf.Struct.fields: object expected");
                        message.fields[keys[i]] = $root.google.protobuf.Value.fromObject(object.fields[keys[i]], long + 1);
                    }
                }
                return message;
            };

            Struct.toObject = function toObject(message, options, q) {
                if (!options)
                    options = {};
                if (q === undefined)
                    q = 0;
                if (q > $util.recursionLimit)
                    throw Error("max depth exceeded");
                let object = {};
                if (options.objects || options.defaults)
                    object.fields = {};
                let keys2;
                if (message.fields && (keys2 = Object.keys(message.fields)).length) {
                    object.fields = {};
                    for (let j = 0; j < keys2.length; ++j) {
                        if (keys2[j] === "__proto__")
                            $util.makeProp(object.fields, keys2[j]);
                        object.fields[keys2[j]] = $root.google.protobuf.Value.toObject(message.fields[keys2[j]], options, q + 1);
                    }
                }
                return object;
            };

            Struct.prototype.toJSON = function toJSON() {
                return this.constructor.toObject(this, $protobuf.util.toJSONOptions);
            };

            return Struct;
        })();

        protobuf.Value = (function() {

            function Value(properties) {
                if (properties)
                    for (let keys = Object.keys(properties), i = 0; i < keys.length; ++i)
                        if (properties[keys[i]] != null && keys[i] !== "__proto__")
                            this[keys[i]] = properties[keys[i]];
            }

            Value.prototype.nullValue = null;
            Value.prototype.numberValue = null;
            Value.prototype.stringValue = null;
            Value.prototype.boolValue = null;
            Value.prototype.structValue = null;
            Value.prototype.listValue = null;

            let $oneOfFields;

            Object.defineProperty(Value.prototype, "kind", {
                get: $util.oneOfGetter($oneOfFields = ["nullValue", "numberValue", "stringValue", "boolValue", "structValue", "listValue"]),
                set: $util.oneOfSetter($oneOfFields)
            });

            Value.create = function create(properties) {
                return new Value(properties);
            };

            Value.encode = function encode(message, writer, q) {
                if (!writer)
                    writer = $Writer.create();
                if (q === undefined)
                    q = 0;
                if (q > $util.recursionLimit)
                    throw Error("max depth exceeded");
                if (message.nullValue != null && Object.hasOwnProperty.call(message, "nullValue"))
                    writer.uint32(8).int32(message.nullValue);
                if (message.numberValue != null && Object.hasOwnProperty.call(message, "numberValue"))
                    writer.uint32(17).double(message.numberValue);
                if (message.stringValue != null && Object.hasOwnProperty.call(message, "stringValue"))
                    writer.uint32(26).string(message.stringValue);
                if (message.boolValue != null && Object.hasOwnProperty.call(message, "boolValue"))
                    writer.uint32(32).bool(message.boolValue);
                if (message.structValue != null && Object.hasOwnProperty.call(message, "structValue"))
                    $root.google.protobuf.Struct.encode(message.structValue, writer.uint32(42).fork(), q + 1).ldelim();
                if (message.listValue != null && Object.hasOwnProperty.call(message, "listValue"))
                    $root.google.protobuf.ListValue.encode(message.listValue, writer.uint32(50).fork(), q + 1).ldelim();
                return writer;
            };

            Value.decode = function decode(reader, length, error, long) {
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
                message = new $root.google.protobuf.Value();
                while (reader.pos < end) {
                    let tag = reader.uint32();
                    if (tag === error)
                        break;
                    switch (tag >>> 3) {
                    case 1: {
                            message.nullValue = reader.int32();
                            break;
                        }
                    case 2: {
                            message.numberValue = reader.double();
                            break;
                        }
                    case 3: {
                            message.stringValue = reader.string();
                            break;
                        }
                    case 4: {
                            message.boolValue = reader.bool();
                            break;
                        }
                    case 5: {
                            message.structValue = $root.google.protobuf.Struct.decode(reader, reader.uint32(), undefined, long + 1);
                            break;
                        }
                    case 6: {
                            message.listValue = $root.google.protobuf.ListValue.decode(reader, reader.uint32(), undefined, long + 1);
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

            Value.fromObject = function fromObject(object, long) {
                if (object instanceof $root.google.protobuf.Value)
                    return object;
                if (!$util.isObject(object))
                    throw TypeError(".google.protobuf.Value: object expected");
                if (long === undefined)
                    long = 0;
                if (long > $util.recursionLimit)
                    throw Error("maximum nesting depth exceeded");
                let message = new $root.google.protobuf.Value();
                switch (object.nullValue) {
                default:
                    if (typeof object.nullValue === "number") {
                        message.nullValue = object.nullValue;
                        break;
                    }
                    break;
                case "NULL_VALUE":
                case 0:
                    message.nullValue = 0;
                    break;
                }
                if (object.numberValue != null)
                    message.numberValue = Number(object.numberValue);
                if (object.stringValue != null)
                    message.stringValue = String(object.stringValue);
                if (object.boolValue != null)
                    message.boolValue = Boolean(object.boolValue);
                if (object.structValue != null) {
                    if (!$util.isObject(object.structValue))
                        throw TypeError(".google.protobuf.Value.structValue: object expected");
                    message.structValue = $root.google.protobuf.Struct.fromObject(object.structValue, long + 1);
                }
                if (object.listValue != null) {
                    if (!$util.isObject(object.listValue))
                        throw TypeError(".google.protobuf.Value.listValue: object expected");
                    message.listValue = $root.google.protobuf.ListValue.fromObject(object.listValue, long + 1);
                }
                return message;
            };

            Value.toObject = function toObject(message, options, q) {
                if (!options)
                    options = {};
                if (q === undefined)
                    q = 0;
                if (q > $util.recursionLimit)
                    throw Error("max depth exceeded");
                let object = {};
                if (message.nullValue != null && Object.hasOwnProperty.call(message, "nullValue")) {
                    object.nullValue = options.enums === String ? $root.google.protobuf.NullValue[message.nullValue] === undefined ? message.nullValue : $root.google.protobuf.NullValue[message.nullValue] : message.nullValue;
                    if (options.oneofs)
                        object.kind = "nullValue";
                }
                if (message.numberValue != null && Object.hasOwnProperty.call(message, "numberValue")) {
                    object.numberValue = options.json && !isFinite(message.numberValue) ? String(message.numberValue) : message.numberValue;
                    if (options.oneofs)
                        object.kind = "numberValue";
                }
                if (message.stringValue != null && Object.hasOwnProperty.call(message, "stringValue")) {
                    object.stringValue = message.stringValue;
                    if (options.oneofs)
                        object.kind = "stringValue";
                }
                if (message.boolValue != null && Object.hasOwnProperty.call(message, "boolValue")) {
                    object.boolValue = message.boolValue;
                    if (options.oneofs)
                        object.kind = "boolValue";
                }
                if (message.structValue != null && Object.hasOwnProperty.call(message, "structValue")) {
                    object.structValue = $root.google.protobuf.Struct.toObject(message.structValue, options, q + 1);
                    if (options.oneofs)
                        object.kind = "structValue";
                }
                if (message.listValue != null && Object.hasOwnProperty.call(message, "listValue")) {
                    object.listValue = $root.google.protobuf.ListValue.toObject(message.listValue, options, q + 1);
                    if (options.oneofs)
                        object.kind = "listValue";
                }
                return object;
            };

            Value.prototype.toJSON = function toJSON() {
                return this.constructor.toObject(this, $protobuf.util.toJSONOptions);
            };

            return Value;
        })();

        protobuf.NullValue = (function() {
            const valuesById = {}, values = Object.create(valuesById);
            values[valuesById[0] = "NULL_VALUE"] = 0;
            return values;
        })();

        protobuf.ListValue = (function() {

            function ListValue(properties) {
                this.values = [];
                if (properties)
                    for (let keys = Object.keys(properties), i = 0; i < keys.length; ++i)
                        if (properties[keys[i]] != null && keys[i] !== "__proto__")
                            this[keys[i]] = properties[keys[i]];
            }

            ListValue.prototype.values = $util.emptyArray;

            ListValue.create = function create(properties) {
                return new ListValue(properties);
            };

            ListValue.encode = function encode(message, writer, q) {
                if (!writer)
                    writer = $Writer.create();
                if (q === undefined)
                    q = 0;
                if (q > $util.recursionLimit)
                    throw Error("max depth exceeded");
                if (message.values != null && message.values.length)
                    for (let i = 0; i < message.values.length; ++i)
                        $root.google.protobuf.Value.encode(message.values[i], writer.uint32(10).fork(), q + 1).ldelim();
                return writer;
            };

            ListValue.decode = function decode(reader, length, error, long) {
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
                message = new $root.google.protobuf.ListValue();
                while (reader.pos < end) {
                    let tag = reader.uint32();
                    if (tag === error)
                        break;
                    switch (tag >>> 3) {
                    case 1: {
                            if (!(message.values && message.values.length))
                                message.values = [];
                            message.values.push($root.google.protobuf.Value.decode(reader, reader.uint32(), undefined, long + 1));
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

            ListValue.fromObject = function fromObject(object, long) {
                if (object instanceof $root.google.protobuf.ListValue)
                    return object;
                if (!$util.isObject(object))
                    throw TypeError(".google.protobuf.ListValue: object expected");
                if (long === undefined)
                    long = 0;
                if (long > $util.recursionLimit)
                    throw Error("maximum nesting depth exceeded");
                let message = new $root.google.protobuf.ListValue();
                if (object.values) {
                    if (!Array.isArray(object.values))
                        throw TypeError(".google.protobuf.ListValue.values: array expected");
                    message.values = [];
                    for (let i = 0; i < object.values.length; ++i) {
                        if (!$util.isObject(object.values[i]))
                            throw TypeError(".google.protobuf.ListValue.values: object expected");
                        message.values[i] = $root.google.protobuf.Value.fromObject(object.values[i], long + 1);
                    }
                }
                return message;
            };

            ListValue.toObject = function toObject(message, options, q) {
                if (!options)
                    options = {};
                if (q === undefined)
                    q = 0;
                if (q > $util.recursionLimit)
                    throw Error("max depth exceeded");
                let object = {};
                if (options.arrays || options.defaults)
                    object.values = [];
                if (message.values && message.values.length) {
                    object.values = [];
                    for (let j = 0; j < message.values.length; ++j)
                        object.values[j] = $root.google.protobuf.Value.toObject(message.values[j], options, q + 1);
                }
                return object;
            };

            ListValue.prototype.toJSON = function toJSON() {
                return this.constructor.toObject(this, $protobuf.util.toJSONOptions);
            };

            return ListValue;
        })();

        return protobuf;
    })();

    return google;
})();

export { $root as default };
