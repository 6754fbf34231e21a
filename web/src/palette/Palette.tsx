/**
 * The module palette: Favorites and Recent (kept per user on the server), then every built-in
 * node type and custom tool by group. An entry is added by dragging it onto the canvas or, from
 * the keyboard, by focusing it and pressing Enter (it lands at the centre of the view).
 */
import { memo, useMemo, useState } from "react";
import { Star } from "lucide-react";
import { NodeIcon } from "./icons";
import { grouped, matches, type PaletteEntry } from "./model";

export const PALETTE_MIME = "application/x-weft-palette";

interface Props {
  entries: PaletteEntry[];
  favorites: PaletteEntry[];
  recents: PaletteEntry[];
  onAdd: (entry: PaletteEntry) => void;
  onToggleFavorite: (entry: PaletteEntry, favorite: boolean) => void;
  error: string | null;
}

export function Palette({ entries, favorites, recents, onAdd, onToggleFavorite, error }: Props) {
  const [search, setSearch] = useState("");
  const favoriteKeys = useMemo(() => new Set(favorites.map((f) => f.key)), [favorites]);
  const groups = useMemo(() => grouped(entries.filter((e) => matches(e, search))), [entries, search]);
  const searching = search.trim() !== "";

  const section = (title: string, list: PaletteEntry[], id: string) => (
    <section aria-labelledby={id} key={id}>
      <h2 id={id}>{title}</h2>
      <ul>
        {list.map((entry) => (
          <Item
            key={entry.key}
            entry={entry}
            favorite={favoriteKeys.has(entry.key)}
            onAdd={onAdd}
            onToggleFavorite={onToggleFavorite}
          />
        ))}
      </ul>
    </section>
  );

  return (
    <aside className="palette" data-testid="palette" aria-label="Palette">
      <label htmlFor="palette-search" className="visually-hidden">
        Search the palette
      </label>
      <input
        id="palette-search"
        type="search"
        placeholder="Search nodes and tools"
        value={search}
        onChange={(e) => setSearch(e.target.value)}
      />
      {error && (
        <p role="alert" className="field-error">
          {error}
        </p>
      )}
      {!searching && favorites.length > 0 && section("Favorites", favorites, "palette-favorites")}
      {!searching && recents.length > 0 && section("Recent", recents, "palette-recent")}
      {groups.map((g) => section(g.group, g.entries, `palette-group-${g.group.toLowerCase().replace(/\W+/g, "-")}`))}
      {groups.length === 0 && <p className="muted">Nothing matches “{search}”.</p>}
    </aside>
  );
}

const Item = memo(function Item({
  entry,
  favorite,
  onAdd,
  onToggleFavorite,
}: {
  entry: PaletteEntry;
  favorite: boolean;
  onAdd: (entry: PaletteEntry) => void;
  onToggleFavorite: (entry: PaletteEntry, favorite: boolean) => void;
}) {
  return (
    <li className="palette-row">
      <div
        className="palette-item"
        data-testid="palette-item"
        data-node-type={entry.nodeType}
        data-tool-id={entry.toolUuid ?? undefined}
        role="button"
        tabIndex={0}
        title={entry.description}
        aria-label={`${entry.label}: ${entry.description}. Press Enter to add it to the canvas.`}
        draggable
        onDragStart={(e) => {
          e.dataTransfer.setData(PALETTE_MIME, entry.key);
          e.dataTransfer.effectAllowed = "copy";
        }}
        onKeyDown={(e) => {
          if (e.key === "Enter" || e.key === " ") {
            e.preventDefault();
            onAdd(entry);
          }
        }}
      >
        <NodeIcon name={entry.icon} />
        <span className="label">{entry.label}</span>
      </div>
      <button
        type="button"
        className="star"
        aria-pressed={favorite}
        aria-label={favorite ? `Remove ${entry.label} from favorites` : `Add ${entry.label} to favorites`}
        title={favorite ? "Remove from favorites" : "Add to favorites"}
        onClick={() => onToggleFavorite(entry, !favorite)}
      >
        <Star size={14} aria-hidden="true" fill={favorite ? "currentColor" : "none"} />
      </button>
    </li>
  );
});
