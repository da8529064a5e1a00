import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** A file of the page, held in memory (they are few and small). */
export interface StaticFile {
  readonly body: Buffer;
  readonly contentType: string;
}

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.svg': 'image/svg+xml',
};

/** The page's folder: `web/` beside `src/` and `dist/`, in the workspace and in the published package. */
export const WEB_ROOT = fileURLToPath(new URL('../web/', import.meta.url));

/**
 * Reads the page's files once. Only names made of letters, digits, `-` and `_` with a known extension
 * are served, so a request can never reach outside the folder.
 */
export function loadStaticFiles(root = WEB_ROOT): ReadonlyMap<string, StaticFile> {
  const files = new Map<string, StaticFile>();
  for (const name of readdirSync(root)) {
    const extension = /^[\w-]+(\.[a-z]+)$/.exec(name)?.[1];
    const contentType = extension && CONTENT_TYPES[extension];
    if (contentType) files.set(name, { body: readFileSync(`${root}${name}`), contentType });
  }
  return files;
}
