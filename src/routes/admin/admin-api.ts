// A small same-origin JSON helper for the admin pages: the API's error body becomes an
// AdminApiError with the server's safe message (and the fields a validation error names).

export class AdminApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly fields: string[] = [],
  ) {
    super(message);
  }
}

export async function adminFetch<T>(method: string, path: string, body?: unknown): Promise<T> {
  let res: Response;
  try {
    res = await fetch(path, {
      method,
      credentials: 'same-origin',
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new AdminApiError(0, 'offline', 'No connection to the server.');
  }
  if (res.status === 204) return undefined as T;
  const json = await res.json().catch(() => undefined);
  if (!res.ok) {
    const err = json?.error ?? {};
    const fields = (err.details?.issues ?? []).map((i: { path: string }) => i.path);
    throw new AdminApiError(
      res.status,
      err.code ?? 'http_error',
      err.message ?? `Request failed (${res.status}).`,
      fields,
    );
  }
  return json as T;
}

export interface Page<T> {
  count: number;
  next: string | null;
  previous: string | null;
  results: T[];
}
