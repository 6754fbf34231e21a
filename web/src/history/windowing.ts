/**
 * Which rows of a long, fixed-row-height list to render for a scroll position: the visible
 * ones plus an overscan on each side. The DOM then holds a bounded number of rows however
 * many are loaded (a dependency for this one function was not worth a lockfile change).
 */
export interface RowWindow {
  start: number;
  end: number;
  padTop: number;
  padBottom: number;
}

export function rowWindow(count: number, rowHeight: number, scrollTop: number, viewport: number, overscan = 8): RowWindow {
  if (count === 0) return { start: 0, end: 0, padTop: 0, padBottom: 0 };
  const first = Math.floor(Math.max(0, scrollTop) / rowHeight);
  const visible = Math.ceil(Math.max(viewport, rowHeight) / rowHeight) + 1;
  const start = Math.max(0, Math.min(count - 1, first - overscan));
  const end = Math.min(count, first + visible + overscan);
  return { start, end, padTop: start * rowHeight, padBottom: (count - end) * rowHeight };
}
