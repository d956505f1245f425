import pino from 'pino';

export type Logger = pino.Logger;

/** `destination` lets tests capture the output; by default logs go to stdout. */
export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
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
    destination,
  );
}
