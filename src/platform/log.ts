// Structured JSON logs (pino); the request id rides on each request's child logger.
import { pino, type Logger } from 'pino';

export function createLogger(level: string): Logger {
  return pino({
    level,
    base: { service: 'openspine' },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: { paths: ['req.headers.authorization', 'headers.authorization', 'password'], censor: '[redacted]' },
  });
}
