// Real peers for the reminder tests: an SMTP server (npm smtp-server) whose received messages
// are parsed with mailparser, and an HTTP receiver that checks the SMS webhook's signature.
import { createHmac, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { simpleParser, type ParsedMail } from 'mailparser';
import { SMTPServer } from 'smtp-server';

export interface ReceivedMail {
  parsed: ParsedMail;
  raw: string;
  /** The text/calendar part. */
  ics: string;
}

export interface SmtpPeer {
  port: number;
  messages: ReceivedMail[];
  /** Recipients for which RCPT TO answers 550 (a permanent failure). */
  rejectRecipients: Set<string>;
  /** While set, a message's DATA is received but never answered (a provider that hangs). */
  hangOnData: boolean;
  /** Messages whose DATA began (answered or not). */
  dataStarted: number;
  close(): Promise<void>;
}

export async function startSmtpPeer(port = 0): Promise<SmtpPeer> {
  const peer: SmtpPeer = {
    port: 0,
    messages: [],
    rejectRecipients: new Set(),
    hangOnData: false,
    dataStarted: 0,
    close: async () => {},
  };
  const server = new SMTPServer({
    authOptional: true,
    // A test's hung session must not hold close() for the default 30 s.
    closeTimeout: 500,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onRcptTo(address, _session, callback) {
      if (peer.rejectRecipients.has(address.address)) {
        const err = Object.assign(new Error('No such user'), { responseCode: 550 });
        return callback(err);
      }
      callback();
    },
    onData(stream, _session, callback) {
      peer.dataStarted++;
      const hang = peer.hangOnData;
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', async () => {
        if (hang) return; // never answer
        const raw = Buffer.concat(chunks).toString();
        const parsed = await simpleParser(raw);
        const cal = parsed.attachments.find((a) => a.contentType.startsWith('text/calendar'));
        const ics = cal ? cal.content.toString() : (/BEGIN:VCALENDAR[\s\S]*END:VCALENDAR/.exec(raw)?.[0] ?? '');
        peer.messages.push({ parsed, raw, ics });
        callback();
      });
    },
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  peer.port = (server.server.address() as AddressInfo).port;
  peer.close = () => new Promise<void>((resolve) => server.close(() => resolve()));
  return peer;
}

export interface WebhookPeer {
  url: string;
  received: Array<{ body: any; idempotencyKey: string }>;
  badSignatures: number;
  /** Status to answer with (200 by default). */
  answer: number;
  close(): Promise<void>;
}

/** Verifies `X-Clinic-Signature: t=<unix>,v1=<hex HMAC-SHA256(secret, "t.body")>` as a gateway would. */
export async function startWebhookPeer(secret: string): Promise<WebhookPeer> {
  const peer: WebhookPeer = { url: '', received: [], badSignatures: 0, answer: 200, close: async () => {} };
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      const header = String(req.headers['x-clinic-signature'] ?? '');
      const m = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(header);
      const expected = m ? createHmac('sha256', secret).update(`${m[1]}.${body}`).digest() : null;
      if (!m || !expected || !timingSafeEqual(Buffer.from(m[2]!, 'hex'), expected)) {
        peer.badSignatures++;
        res.writeHead(401).end();
        return;
      }
      peer.received.push({ body: JSON.parse(body), idempotencyKey: String(req.headers['idempotency-key']) });
      res.writeHead(peer.answer, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  peer.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/sms`;
  peer.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return peer;
}

/** A property of an iCalendar text (unfolded), e.g. icsLine(ics, 'SEQUENCE') → '1'. */
export function icsLine(ics: string, name: string): string | undefined {
  const unfolded = ics.replace(/\r?\n[ \t]/g, '');
  const re = new RegExp(`^${name}(;[^:\\r\\n]*)?:(.*)$`, 'm');
  // Event properties first (the VTIMEZONE has its own DTSTART), then calendar ones (METHOD).
  const event = /BEGIN:VEVENT[\s\S]*END:VEVENT/.exec(unfolded)?.[0] ?? '';
  const m = re.exec(event) ?? re.exec(unfolded);
  return m ? `${m[1] ?? ''}:${m[2]!.trim()}`.replace(/^:/, '') : undefined;
}
