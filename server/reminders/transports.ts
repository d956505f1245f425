// Where messages go. Email: SMTP (SMTP_URL) through nodemailer, or, without SMTP_URL, .eml
// files in DATA_DIR/outbox-mail/. SMS: a signed HTTP webhook (SMS_WEBHOOK_URL), or .json files
// in DATA_DIR/outbox-sms/. Every failure is classified: `temporary` (provably not delivered:
// retry later), `permanent` (will never work: stop) or `unknown` (may have been delivered:
// never re-sent without a person deciding).
import { createHmac } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import nodemailer from 'nodemailer';
import type { Config } from '../config.js';

export type FailureKind = 'temporary' | 'permanent' | 'unknown';

export class SendFailure extends Error {
  constructor(
    readonly kind: FailureKind,
    message: string,
  ) {
    super(message);
  }
}

export interface OutgoingEmail {
  reminderId: string;
  messageId: string;
  from: string;
  to: string;
  subject: string;
  text: string;
  headers: Record<string, string>;
  invite?: { method: 'REQUEST' | 'CANCEL'; content: string };
}

export interface OutgoingSms {
  reminderId: string;
  messageId: string;
  to: string;
  text: string;
}

export interface Delivered {
  /** The outbox file written, when there is no real provider. */
  outboxFile?: string;
}

export interface Transports {
  email(message: OutgoingEmail): Promise<Delivered>;
  sms(message: OutgoingSms): Promise<Delivered>;
  /** True when the message of this reminder provably went out (its outbox file exists). */
  provablySent(reminderId: string, channel: 'email' | 'sms'): boolean | undefined;
  close(): void;
}

export const mailOutboxDir = (config: Config) => path.join(config.dataDir, 'outbox-mail');
export const smsOutboxDir = (config: Config) => path.join(config.dataDir, 'outbox-sms');
const mailFile = (config: Config, id: string) => path.join(mailOutboxDir(config), `${id}.eml`);
const smsFile = (config: Config, id: string) => path.join(smsOutboxDir(config), `${id}.json`);

/** Written whole or not at all: a crash leaves no half file that would count as sent. */
async function writeAtomically(file: string, content: string | Buffer): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, content);
  await rename(tmp, file);
}

/** nodemailer's error → kind. Only a refusal before any transaction began is "temporary". */
export function classifySmtpError(err: unknown): SendFailure {
  const e = err as { responseCode?: number; code?: string; message?: string };
  const message = (e.message ?? String(err)).slice(0, 500);
  if (e.responseCode && e.responseCode >= 500) return new SendFailure('permanent', message);
  if (e.responseCode && e.responseCode >= 400) return new SendFailure('temporary', message);
  if (e.code === 'EENVELOPE') return new SendFailure('permanent', message);
  if (e.code === 'EAUTH' || e.code === 'EDNS') return new SendFailure('temporary', message);
  if (/ECONNREFUSED|ENOTFOUND|EHOSTUNREACH|ENETUNREACH|EAI_AGAIN|Greeting never received/.test(message)) {
    return new SendFailure('temporary', message);
  }
  // A timeout or a dropped connection mid-session: the server may have taken the message.
  return new SendFailure('unknown', message);
}

function emailTransport(config: Config) {
  if (config.smtpUrl) {
    const transport = nodemailer.createTransport({
      url: config.smtpUrl,
      pool: true,
      maxConnections: 5,
      // Bounded, so a send never outlasts REMINDER_SENDING_TIMEOUT_SECONDS (server/reminders/sweep.ts).
      connectionTimeout: 20_000,
      greetingTimeout: 20_000,
      socketTimeout: 60_000,
    } as Parameters<typeof nodemailer.createTransport>[0]);
    return { transport, file: false };
  }
  return {
    transport: nodemailer.createTransport({ streamTransport: true, buffer: true, newline: 'windows' }),
    file: true,
  };
}

/** The webhook's signature header: `t=<unix seconds>,v1=<hex HMAC-SHA256 of "t.body">`. */
export function smsSignature(secret: string, body: string, unixSeconds: number): string {
  const mac = createHmac('sha256', secret).update(`${unixSeconds}.${body}`).digest('hex');
  return `t=${unixSeconds},v1=${mac}`;
}

export function createTransports(config: Config): Transports {
  const mail = emailTransport(config);
  return {
    async email(m) {
      const mailOptions = {
        messageId: m.messageId,
        from: m.from,
        to: m.to,
        subject: m.subject,
        text: m.text,
        headers: m.headers,
        ...(m.invite
          ? { icalEvent: { method: m.invite.method, content: m.invite.content, filename: 'invite.ics' } }
          : {}),
      };
      let info: { message?: Buffer };
      try {
        info = (await mail.transport.sendMail(mailOptions)) as { message?: Buffer };
      } catch (err) {
        throw mail.file ? new SendFailure('temporary', String(err)) : classifySmtpError(err);
      }
      if (!mail.file) return {};
      const file = mailFile(config, m.reminderId);
      await writeAtomically(file, info.message!);
      return { outboxFile: path.basename(file) };
    },

    async sms(m) {
      const payload = {
        id: m.reminderId,
        message_id: m.messageId,
        to: m.to,
        text: m.text,
        created_at: new Date().toISOString(),
      };
      const body = JSON.stringify(payload);
      if (!config.smsWebhookUrl) {
        const file = smsFile(config, m.reminderId);
        await writeAtomically(file, body);
        return { outboxFile: path.basename(file) };
      }
      let res: Response;
      try {
        res = await fetch(config.smsWebhookUrl, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'idempotency-key': m.reminderId,
            'x-clinic-signature': smsSignature(config.smsWebhookSecret ?? '', body, Math.floor(Date.now() / 1000)),
          },
          body,
          signal: AbortSignal.timeout(30_000),
        });
        await res.text().catch(() => '');
      } catch (err) {
        const cause = (err as { cause?: { code?: string } }).cause?.code ?? '';
        const message = `${String(err)} ${cause}`.slice(0, 500);
        // Refused or unresolvable: the request never left. Anything else may have arrived.
        if (/ECONNREFUSED|ENOTFOUND|EHOSTUNREACH|ENETUNREACH|EAI_AGAIN/.test(cause))
          throw new SendFailure('temporary', message);
        throw new SendFailure('unknown', message);
      }
      if (res.ok) return {};
      const message = `SMS gateway answered ${res.status}`;
      if (res.status === 408 || res.status === 429 || res.status >= 500) throw new SendFailure('temporary', message);
      throw new SendFailure('permanent', message);
    },

    provablySent(reminderId, channel) {
      if (channel === 'email') return mail.file ? existsSync(mailFile(config, reminderId)) : undefined;
      return config.smsWebhookUrl ? undefined : existsSync(smsFile(config, reminderId));
    },

    close() {
      mail.transport.close();
    },
  };
}
