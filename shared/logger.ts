import { pino, type Logger } from 'pino';

/**
 * One pino logger per process, written to stderr so that stdout stays free for command output.
 * Children carry studyId / trialId / workerId; tokens and env values are redacted.
 */
export function createLogger(name: string, level = process.env.LOG_LEVEL ?? 'info'): Logger {
  return pino(
    { name, level, redact: { paths: ['token', '*.token', 'env', '*.env', 'headers.authorization'], censor: '[redacted]' } },
    pino.destination({ fd: 2, sync: false }),
  );
}

export type { Logger };
