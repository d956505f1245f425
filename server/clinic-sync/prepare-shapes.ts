// A device's first sync asks for its role's shapes once its local database has started, a few
// seconds after the login answered, and the server then builds each shape's snapshot: most of
// that first sync's download time. So a login starts building them at once, while the device
// starts its database; its first requests then find them built, or under way (concurrent
// requests for one definition share one shape). The shapes are exactly those the device will
// ask for (the role's shape of every synced table, as a request naming only the table gets
// it), so nothing is built that its first sync would not build. Nothing is sent, so nothing
// is audited here; a returning device finds its shapes already there (a lookup).
import type { SessionUser } from '../../src/lib/shared/roles.js';
import type { AppDeps } from '../deps.js';
import { parseShapeRequest } from '../sync/protocol.js';
import { buildUserShape, SYNCED_TABLES } from './shape-rules.js';

export function prepareShapesFor(deps: Pick<AppDeps, 'sync' | 'config' | 'logger'>, user: SessionUser): void {
  const service = deps.sync?.service;
  if (!service?.streaming) return;
  void (async () => {
    for (const table of SYNCED_TABLES) {
      const info = await service.tableInfo('public', table);
      if (!info) continue;
      const { client } = parseShapeRequest(new URLSearchParams({ table, offset: '-1' }));
      // Returns once the shape is registered; its snapshot is stored in the background.
      await service.shapeFor(buildUserShape(user, info, client, deps.config.clinicTimeZone), info);
    }
  })().catch((err: unknown) => deps.logger.warn({ err }, "preparing a login's shapes failed"));
}
