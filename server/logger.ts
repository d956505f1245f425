import pino from 'pino';
import pretty from 'pino-pretty';

export type Logger = pino.Logger;

export type LogFormat = 'pretty' | 'json';

/**
 * Human-readable lines on a terminal (someone is reading), JSON otherwise (a log collector is).
 * LOG_FORMAT overrides the guess.
 */
export function defaultLogFormat(isTty = Boolean(process.stdout.isTTY)): LogFormat {
  return isTty ? 'pretty' : 'json';
}

/** `destination` lets tests capture the output; by default logs go to stdout. */
export function createLogger(level: string, destination?: pino.DestinationStream, format: LogFormat = 'json'): Logger {
  // pino-pretty as an in-process stream (not a worker transport): lines appear in order with
  // console output and nothing is lost when the process exits right after logging.
  const stream =
    destination ??
    (format === 'pretty'
      ? pretty({ colorize: true, translateTime: 'SYS:HH:MM:ss', ignore: 'pid,hostname' })
      : undefined);
  return pino(
    {
      level,
      // Never log credentials or patient data, even by accident through a nested object.
      redact: {
        paths: [
          'password',
          '*.password',
          'token',
          '*.token',
          'req.headers.cookie',
          'req.headers.authorization',
          'res.headers["set-cookie"]',
          // PostgreSQL errors repeat row values here ("Key (mrn)=(...) already exists").
          'err.detail',
          'err.where',
        ],
        censor: '[redacted]',
      },
    },
    stream,
  );
}
