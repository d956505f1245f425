import type { Request } from 'express';

export interface Page<T> {
  count: number;
  next: string | null;
  previous: string | null;
  results: T[];
}

/** `?page=N&page_size=M` links that keep the request's other query parameters. */
export function pageEnvelope<T>(req: Request, page: number, pageSize: number, count: number, results: T[]): Page<T> {
  const link = (target: number) => {
    const params = new URLSearchParams();
    for (const [name, value] of Object.entries(req.query)) {
      if (name === 'page' || name === 'page_size' || typeof value !== 'string') continue;
      params.set(name, value);
    }
    params.set('page', String(target));
    params.set('page_size', String(pageSize));
    return `?${params.toString()}`;
  };
  const lastPage = Math.max(1, Math.ceil(count / pageSize));
  return {
    count,
    next: page < lastPage ? link(page + 1) : null,
    previous: page > 1 ? link(Math.min(page - 1, lastPage)) : null,
    results,
  };
}
