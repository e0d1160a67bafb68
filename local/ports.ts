/**
 * The local runtime's ports: one per service, each with an environment variable to change it, all
 * on 127.0.0.1. `npm start` checks every port before starting anything, so a clash is one clear
 * message naming the port and the variable instead of a stack trace half-way through start-up.
 */
import type { Server } from "node:http";
import { type AddressInfo, createServer } from "node:net";

export interface LocalPorts {
  /** The HTTP API (API Gateway stand-in) and the `/_local/...` clock and token endpoints. */
  readonly api: number;
  /** DynamoDB Local (Java). */
  readonly dynamodb: number;
  /** The local Step Functions endpoint. */
  readonly stepfunctions: number;
  /** The minimal S3 endpoint (audit exports, raw inbound mail). */
  readonly s3: number;
  /** aws-ses-v2-local: the SES API and the web page of sent mail. */
  readonly ses: number;
  /** The SMTP listener that receives replies (SES inbound stand-in). */
  readonly smtp: number;
  /** The minimal Secrets Manager endpoint (the reply-token signing key). */
  readonly secrets: number;
  /** The minimal KMS endpoint (the audit digest signing key). */
  readonly kms: number;
  /** The minimal SQS endpoint (the inbound replies queue, from receive-email to apply-reply). */
  readonly sqs: number;
}

export type PortName = keyof LocalPorts;

export const PORT_SETTINGS: Readonly<
  Record<PortName, { readonly env: string; readonly default: number; readonly what: string }>
> = {
  api: { env: "LOCAL_API_PORT", default: 4000, what: "the HTTP API" },
  dynamodb: { env: "LOCAL_DYNAMODB_PORT", default: 4001, what: "DynamoDB Local" },
  stepfunctions: { env: "LOCAL_SFN_PORT", default: 4002, what: "the Step Functions endpoint" },
  s3: { env: "LOCAL_S3_PORT", default: 4003, what: "the S3 endpoint" },
  ses: { env: "LOCAL_SES_PORT", default: 4004, what: "the SES endpoint and sent-mail page" },
  smtp: { env: "LOCAL_SMTP_PORT", default: 4025, what: "the SMTP listener for replies" },
  secrets: { env: "LOCAL_SECRETS_PORT", default: 4006, what: "the Secrets Manager endpoint" },
  kms: { env: "LOCAL_KMS_PORT", default: 4007, what: "the KMS endpoint" },
  sqs: { env: "LOCAL_SQS_PORT", default: 4008, what: "the SQS endpoint (inbound replies)" },
};

export const PORT_NAMES = Object.keys(PORT_SETTINGS) as PortName[];

export const LOCAL_HOST = "127.0.0.1";

/** A port that is taken: the message names it and the variable that moves it. */
export class PortInUseError extends Error {
  override readonly name = "PortInUseError";
  constructor(
    readonly portName: PortName,
    readonly port: number,
  ) {
    const setting = PORT_SETTINGS[portName];
    super(
      `Port ${port} (${setting.what}) is already in use on ${LOCAL_HOST}. ` +
        `Stop whatever holds it (another \`npm start\`?) or choose another port: ${setting.env}=<port> npm start`,
    );
  }
}

/** The ports from the environment (`LOCAL_*_PORT`), defaults otherwise; a bad value names its variable. */
export function portsFromEnv(env: Readonly<Record<string, string | undefined>> = process.env): LocalPorts {
  const entries = PORT_NAMES.map((name) => {
    const setting = PORT_SETTINGS[name];
    const raw = env[setting.env];
    if (raw === undefined || raw.trim() === "") return [name, setting.default] as const;
    const port = Number(raw);
    if (!Number.isInteger(port) || port < 1 || port > 65535) {
      throw new Error(`${setting.env} must be a port number from 1 to 65535, got ${JSON.stringify(raw)}`);
    }
    return [name, port] as const;
  });
  const ports = Object.fromEntries(entries) as Record<PortName, number>;
  const seen = new Map<number, PortName>();
  for (const name of PORT_NAMES) {
    const other = seen.get(ports[name]);
    if (other !== undefined) {
      throw new Error(
        `${PORT_SETTINGS[name].env} and ${PORT_SETTINGS[other].env} both ask for port ${ports[name]}: give each service its own port`,
      );
    }
    seen.set(ports[name], name);
  }
  return ports;
}

/** Whether something already listens on (or holds) the port on 127.0.0.1. */
function isTaken(port: number): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", (error: NodeJS.ErrnoException) => {
      if (error.code === "EADDRINUSE" || error.code === "EACCES") resolve(true);
      else reject(error);
    });
    server.listen({ port, host: LOCAL_HOST, exclusive: true }, () => {
      server.close(() => {
        resolve(false);
      });
    });
  });
}

/** Throws a {@link PortInUseError} for the first port that is taken. */
export async function assertPortsFree(ports: LocalPorts): Promise<void> {
  for (const name of PORT_NAMES) {
    if (await isTaken(ports[name])) throw new PortInUseError(name, ports[name]);
  }
}

/** A port nobody is listening on right now (the operating system's choice). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, LOCAL_HOST, () => {
      const address = server.address();
      server.close(() => {
        if (address !== null && typeof address === "object") resolve(address.port);
        else reject(new Error("the operating system gave no port"));
      });
    });
  });
}

/** A full set of distinct free ports (tests run the runtime beside anything else on the machine). */
export async function freePorts(): Promise<LocalPorts> {
  const taken = new Set<number>();
  const entries: [PortName, number][] = [];
  for (const name of PORT_NAMES) {
    let port = await freePort();
    while (taken.has(port)) port = await freePort();
    taken.add(port);
    entries.push([name, port]);
  }
  return Object.fromEntries(entries) as Record<PortName, number>;
}

/** Turns a listen error into a {@link PortInUseError} when it is one. */
export function listenError(error: unknown, name: PortName, port: number): Error {
  if ((error as NodeJS.ErrnoException | undefined)?.code === "EADDRINUSE")
    return new PortInUseError(name, port);
  return error instanceof Error ? error : new Error(String(error));
}

/**
 * Starts an HTTP server on the loopback address: resolves with its port once listening, or rejects
 * with a {@link PortInUseError} naming the setting to change.
 */
export function listenLocally(server: Server, name: PortName, port: number): Promise<number> {
  return new Promise((resolveListen, reject) => {
    const onError = (error: Error): void => {
      reject(listenError(error, name, port));
    };
    server.once("error", onError);
    server.listen(port, LOCAL_HOST, () => {
      server.off("error", onError);
      resolveListen((server.address() as AddressInfo).port);
    });
  });
}

/** Stops an HTTP server, dropping idle keep-alive connections so it closes at once. */
export function closeLocally(server: Server): Promise<void> {
  return new Promise((resolveClose, reject) => {
    server.close((error) => {
      if (error) reject(error);
      else resolveClose();
    });
    server.closeAllConnections();
  });
}
