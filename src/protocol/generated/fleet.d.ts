// Generated from proto/ah/fleet/v1/fleet.proto by protobufjs-cli (src/protocol/generated/generate.sh).
// Do not edit: change the .proto file and run `npm run proto:gen`.
import * as $protobuf from "protobufjs";
import Long = require("long");
export namespace ah {

    namespace fleet {

        namespace v1 {

            interface IExecutorMessage {
                hello?: (ah.fleet.v1.IHello|null);
                heartbeat?: (ah.fleet.v1.IHeartbeat|null);
                goodbye?: (ah.fleet.v1.IGoodbye|null);
            }

            class ExecutorMessage implements IExecutorMessage {
                constructor(properties?: ah.fleet.v1.IExecutorMessage);
                public hello?: (ah.fleet.v1.IHello|null);
                public heartbeat?: (ah.fleet.v1.IHeartbeat|null);
                public goodbye?: (ah.fleet.v1.IGoodbye|null);
                public body?: ("hello"|"heartbeat"|"goodbye");
                public static create(properties?: ah.fleet.v1.IExecutorMessage): ah.fleet.v1.ExecutorMessage;
                public static encode(message: ah.fleet.v1.IExecutorMessage, writer?: $protobuf.Writer): $protobuf.Writer;
                public static decode(reader: ($protobuf.Reader|Uint8Array), length?: number): ah.fleet.v1.ExecutorMessage;
                public static fromObject(object: { [k: string]: any }): ah.fleet.v1.ExecutorMessage;
                public static toObject(message: ah.fleet.v1.ExecutorMessage, options?: $protobuf.IConversionOptions): { [k: string]: any };
                public toJSON(): { [k: string]: any };
            }

            interface IAccessPointMessage {
                welcome?: (ah.fleet.v1.IWelcome|null);
                ack?: (ah.fleet.v1.IAck|null);
                revoked?: (ah.fleet.v1.IRevoked|null);
            }

            class AccessPointMessage implements IAccessPointMessage {
                constructor(properties?: ah.fleet.v1.IAccessPointMessage);
                public welcome?: (ah.fleet.v1.IWelcome|null);
                public ack?: (ah.fleet.v1.IAck|null);
                public revoked?: (ah.fleet.v1.IRevoked|null);
                public body?: ("welcome"|"ack"|"revoked");
                public static create(properties?: ah.fleet.v1.IAccessPointMessage): ah.fleet.v1.AccessPointMessage;
                public static encode(message: ah.fleet.v1.IAccessPointMessage, writer?: $protobuf.Writer): $protobuf.Writer;
                public static decode(reader: ($protobuf.Reader|Uint8Array), length?: number): ah.fleet.v1.AccessPointMessage;
                public static fromObject(object: { [k: string]: any }): ah.fleet.v1.AccessPointMessage;
                public static toObject(message: ah.fleet.v1.AccessPointMessage, options?: $protobuf.IConversionOptions): { [k: string]: any };
                public toJSON(): { [k: string]: any };
            }

            interface IHostFacts {
                hostname?: (string|null);
                os?: (string|null);
                os_release?: (string|null);
                arch?: (string|null);
                cpus?: (number|null);
                memory_bytes?: (number|Long|null);
            }

            class HostFacts implements IHostFacts {
                constructor(properties?: ah.fleet.v1.IHostFacts);
                public hostname: string;
                public os: string;
                public os_release: string;
                public arch: string;
                public cpus: number;
                public memory_bytes: (number|Long);
                public static create(properties?: ah.fleet.v1.IHostFacts): ah.fleet.v1.HostFacts;
                public static encode(message: ah.fleet.v1.IHostFacts, writer?: $protobuf.Writer): $protobuf.Writer;
                public static decode(reader: ($protobuf.Reader|Uint8Array), length?: number): ah.fleet.v1.HostFacts;
                public static fromObject(object: { [k: string]: any }): ah.fleet.v1.HostFacts;
                public static toObject(message: ah.fleet.v1.HostFacts, options?: $protobuf.IConversionOptions): { [k: string]: any };
                public toJSON(): { [k: string]: any };
            }

            interface IHello {
                name?: (string|null);
                labels?: ({ [k: string]: string }|null);
                version?: (string|null);
                host?: (ah.fleet.v1.IHostFacts|null);
                heartbeat_interval_ms?: (number|null);
                probe?: (boolean|null);
                previous_connection_id?: (string|null);
            }

            class Hello implements IHello {
                constructor(properties?: ah.fleet.v1.IHello);
                public name: string;
                public labels: { [k: string]: string };
                public version: string;
                public host?: (ah.fleet.v1.IHostFacts|null);
                public heartbeat_interval_ms: number;
                public probe: boolean;
                public previous_connection_id: string;
                public static create(properties?: ah.fleet.v1.IHello): ah.fleet.v1.Hello;
                public static encode(message: ah.fleet.v1.IHello, writer?: $protobuf.Writer): $protobuf.Writer;
                public static decode(reader: ($protobuf.Reader|Uint8Array), length?: number): ah.fleet.v1.Hello;
                public static fromObject(object: { [k: string]: any }): ah.fleet.v1.Hello;
                public static toObject(message: ah.fleet.v1.Hello, options?: $protobuf.IConversionOptions): { [k: string]: any };
                public toJSON(): { [k: string]: any };
            }

            interface IWelcome {
                executor_id?: (string|null);
                server_time_unix_ms?: (number|Long|null);
                heartbeat_interval_ms?: (number|null);
                connection_id?: (string|null);
            }

            class Welcome implements IWelcome {
                constructor(properties?: ah.fleet.v1.IWelcome);
                public executor_id: string;
                public server_time_unix_ms: (number|Long);
                public heartbeat_interval_ms: number;
                public connection_id: string;
                public static create(properties?: ah.fleet.v1.IWelcome): ah.fleet.v1.Welcome;
                public static encode(message: ah.fleet.v1.IWelcome, writer?: $protobuf.Writer): $protobuf.Writer;
                public static decode(reader: ($protobuf.Reader|Uint8Array), length?: number): ah.fleet.v1.Welcome;
                public static fromObject(object: { [k: string]: any }): ah.fleet.v1.Welcome;
                public static toObject(message: ah.fleet.v1.Welcome, options?: $protobuf.IConversionOptions): { [k: string]: any };
                public toJSON(): { [k: string]: any };
            }

            interface IHeartbeat {
                seq?: (number|Long|null);
                sent_unix_ms?: (number|Long|null);
            }

            class Heartbeat implements IHeartbeat {
                constructor(properties?: ah.fleet.v1.IHeartbeat);
                public seq: (number|Long);
                public sent_unix_ms: (number|Long);
                public static create(properties?: ah.fleet.v1.IHeartbeat): ah.fleet.v1.Heartbeat;
                public static encode(message: ah.fleet.v1.IHeartbeat, writer?: $protobuf.Writer): $protobuf.Writer;
                public static decode(reader: ($protobuf.Reader|Uint8Array), length?: number): ah.fleet.v1.Heartbeat;
                public static fromObject(object: { [k: string]: any }): ah.fleet.v1.Heartbeat;
                public static toObject(message: ah.fleet.v1.Heartbeat, options?: $protobuf.IConversionOptions): { [k: string]: any };
                public toJSON(): { [k: string]: any };
            }

            interface IAck {
                seq?: (number|Long|null);
                server_time_unix_ms?: (number|Long|null);
            }

            class Ack implements IAck {
                constructor(properties?: ah.fleet.v1.IAck);
                public seq: (number|Long);
                public server_time_unix_ms: (number|Long);
                public static create(properties?: ah.fleet.v1.IAck): ah.fleet.v1.Ack;
                public static encode(message: ah.fleet.v1.IAck, writer?: $protobuf.Writer): $protobuf.Writer;
                public static decode(reader: ($protobuf.Reader|Uint8Array), length?: number): ah.fleet.v1.Ack;
                public static fromObject(object: { [k: string]: any }): ah.fleet.v1.Ack;
                public static toObject(message: ah.fleet.v1.Ack, options?: $protobuf.IConversionOptions): { [k: string]: any };
                public toJSON(): { [k: string]: any };
            }

            interface IGoodbye {
                reason?: (string|null);
            }

            class Goodbye implements IGoodbye {
                constructor(properties?: ah.fleet.v1.IGoodbye);
                public reason: string;
                public static create(properties?: ah.fleet.v1.IGoodbye): ah.fleet.v1.Goodbye;
                public static encode(message: ah.fleet.v1.IGoodbye, writer?: $protobuf.Writer): $protobuf.Writer;
                public static decode(reader: ($protobuf.Reader|Uint8Array), length?: number): ah.fleet.v1.Goodbye;
                public static fromObject(object: { [k: string]: any }): ah.fleet.v1.Goodbye;
                public static toObject(message: ah.fleet.v1.Goodbye, options?: $protobuf.IConversionOptions): { [k: string]: any };
                public toJSON(): { [k: string]: any };
            }

            interface IRevoked {
                reason?: (string|null);
            }

            class Revoked implements IRevoked {
                constructor(properties?: ah.fleet.v1.IRevoked);
                public reason: string;
                public static create(properties?: ah.fleet.v1.IRevoked): ah.fleet.v1.Revoked;
                public static encode(message: ah.fleet.v1.IRevoked, writer?: $protobuf.Writer): $protobuf.Writer;
                public static decode(reader: ($protobuf.Reader|Uint8Array), length?: number): ah.fleet.v1.Revoked;
                public static fromObject(object: { [k: string]: any }): ah.fleet.v1.Revoked;
                public static toObject(message: ah.fleet.v1.Revoked, options?: $protobuf.IConversionOptions): { [k: string]: any };
                public toJSON(): { [k: string]: any };
            }

            interface IJoinRequest {
                token?: (string|null);
                csr_pem?: (string|null);
            }

            class JoinRequest implements IJoinRequest {
                constructor(properties?: ah.fleet.v1.IJoinRequest);
                public token: string;
                public csr_pem: string;
                public static create(properties?: ah.fleet.v1.IJoinRequest): ah.fleet.v1.JoinRequest;
                public static encode(message: ah.fleet.v1.IJoinRequest, writer?: $protobuf.Writer): $protobuf.Writer;
                public static decode(reader: ($protobuf.Reader|Uint8Array), length?: number): ah.fleet.v1.JoinRequest;
                public static fromObject(object: { [k: string]: any }): ah.fleet.v1.JoinRequest;
                public static toObject(message: ah.fleet.v1.JoinRequest, options?: $protobuf.IConversionOptions): { [k: string]: any };
                public toJSON(): { [k: string]: any };
            }

            interface IJoinResponse {
                chain_pem?: (string|null);
                bundle_pem?: (string|null);
                spiffe_id?: (string|null);
                not_after_unix_ms?: (number|Long|null);
                access_point_id?: (string|null);
            }

            class JoinResponse implements IJoinResponse {
                constructor(properties?: ah.fleet.v1.IJoinResponse);
                public chain_pem: string;
                public bundle_pem: string;
                public spiffe_id: string;
                public not_after_unix_ms: (number|Long);
                public access_point_id: string;
                public static create(properties?: ah.fleet.v1.IJoinResponse): ah.fleet.v1.JoinResponse;
                public static encode(message: ah.fleet.v1.IJoinResponse, writer?: $protobuf.Writer): $protobuf.Writer;
                public static decode(reader: ($protobuf.Reader|Uint8Array), length?: number): ah.fleet.v1.JoinResponse;
                public static fromObject(object: { [k: string]: any }): ah.fleet.v1.JoinResponse;
                public static toObject(message: ah.fleet.v1.JoinResponse, options?: $protobuf.IConversionOptions): { [k: string]: any };
                public toJSON(): { [k: string]: any };
            }

            interface IRenewRequest {
                csr_pem?: (string|null);
            }

            class RenewRequest implements IRenewRequest {
                constructor(properties?: ah.fleet.v1.IRenewRequest);
                public csr_pem: string;
                public static create(properties?: ah.fleet.v1.IRenewRequest): ah.fleet.v1.RenewRequest;
                public static encode(message: ah.fleet.v1.IRenewRequest, writer?: $protobuf.Writer): $protobuf.Writer;
                public static decode(reader: ($protobuf.Reader|Uint8Array), length?: number): ah.fleet.v1.RenewRequest;
                public static fromObject(object: { [k: string]: any }): ah.fleet.v1.RenewRequest;
                public static toObject(message: ah.fleet.v1.RenewRequest, options?: $protobuf.IConversionOptions): { [k: string]: any };
                public toJSON(): { [k: string]: any };
            }

            interface IRenewResponse {
                chain_pem?: (string|null);
                bundle_pem?: (string|null);
                not_after_unix_ms?: (number|Long|null);
                access_point_id?: (string|null);
            }

            class RenewResponse implements IRenewResponse {
                constructor(properties?: ah.fleet.v1.IRenewResponse);
                public chain_pem: string;
                public bundle_pem: string;
                public not_after_unix_ms: (number|Long);
                public access_point_id: string;
                public static create(properties?: ah.fleet.v1.IRenewResponse): ah.fleet.v1.RenewResponse;
                public static encode(message: ah.fleet.v1.IRenewResponse, writer?: $protobuf.Writer): $protobuf.Writer;
                public static decode(reader: ($protobuf.Reader|Uint8Array), length?: number): ah.fleet.v1.RenewResponse;
                public static fromObject(object: { [k: string]: any }): ah.fleet.v1.RenewResponse;
                public static toObject(message: ah.fleet.v1.RenewResponse, options?: $protobuf.IConversionOptions): { [k: string]: any };
                public toJSON(): { [k: string]: any };
            }
        }
    }
}
