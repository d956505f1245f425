// One shape request from parsed parameters to the answer: find or create the shape for the
// definition, 409 when the client's handle can't be continued, then read (or long-poll).
import type { Request, Response } from 'express';
import { formatOffset } from './offsets.js';
import { isDeleted } from './shape-registry.js';
import { sendAnswer, sendBadRequest, sendMustRefetch, type ShapeRequest } from './protocol.js';
import type { SyncService } from './service.js';
import type { ShapeDef } from './shape-def.js';
import { isOutOfBounds, readShape, withCurrentGlobal, answerBody } from './shape-reader.js';
import { schemaHeader, type TableInfo } from './table-info.js';

/** PostgreSQL errors that mean "this filter is wrong" rather than "the server is broken". */
function isFilterError(err: unknown): boolean {
  const code = (err as { code?: string }).code;
  return typeof code === 'string' && /^(22|42)/.test(code);
}

export async function serveShape(
  service: SyncService,
  req: Request,
  res: Response,
  r: ShapeRequest,
  info: TableInfo,
  def: ShapeDef,
): Promise<{ handle: string; created: boolean } | undefined> {
  let state;
  try {
    state = await service.shapeFor(def, info);
  } catch (err) {
    if (!isFilterError(err)) throw err;
    sendBadRequest(res, 'where', (err as Error).message);
    return undefined;
  }
  if (r.offset.lsn >= 0n) {
    const theirs = service.registry.byHandle.get(r.handle!);
    if (!theirs || theirs !== state || isOutOfBounds(service, state, r.offset)) {
      sendMustRefetch(res, state.handle);
      return undefined;
    }
  }
  try {
    await state.ready;
  } catch (err) {
    if (isFilterError(err)) return void sendBadRequest(res, 'where', (err as Error).message);
    res.set('retry-after', '1');
    res.status(503).json({ message: 'The shape could not be prepared; try again.' });
    return undefined;
  }
  if (isDeleted(state)) {
    sendMustRefetch(res, service.registry.byDef.get(state.defKey)?.handle);
    return undefined;
  }
  service.markUsed(state);
  const abort = new AbortController();
  res.on('close', () => abort.abort());
  const read = await readShape(service, state, r.offset, r.live, abort.signal);
  if (isDeleted(state)) {
    sendMustRefetch(res, service.registry.byDef.get(state.defKey)?.handle);
    return undefined;
  }
  const answer = withCurrentGlobal(service, state, read);
  sendAnswer(
    req,
    res,
    r,
    {
      handle: state.handle,
      requestOffset: formatOffset(r.offset),
      offset: answer.offset,
      body: answerBody(answer),
      upToDate: answer.upToDate,
      hasData: answer.hasData,
      schema: schemaHeader(info, def.columns),
    },
    service.holdMs(state),
  );
  return { handle: state.handle, created: r.offset.lsn < 0n };
}
