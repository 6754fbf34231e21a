/**
 * Icons by name: the server names node-type icons (`play`, `bot`, …); tools get one per kind.
 * Only the icons used are imported, so the bundle carries a dozen, not the whole set.
 */
import {
  Bot,
  Braces,
  Code2,
  Database,
  Flag,
  GitBranch,
  Globe,
  Play,
  Puzzle,
  Search,
  Send,
  Shuffle,
  Webhook,
  Wrench,
  type LucideIcon,
} from "lucide-react";

const ICONS: Record<string, LucideIcon> = {
  play: Play,
  bot: Bot,
  shuffle: Shuffle,
  "git-branch": GitBranch,
  globe: Globe,
  search: Search,
  database: Database,
  send: Send,
  puzzle: Puzzle,
  flag: Flag,
  wrench: Wrench,
  braces: Braces,
  "tool-code": Code2,
  "tool-api": Globe,
  "tool-database-query": Database,
  "tool-webhook": Webhook,
};

export function NodeIcon({ name, size = 16 }: { name: string; size?: number }) {
  const Icon = ICONS[name] ?? Puzzle;
  return <Icon size={size} aria-hidden="true" data-icon={name} className="node-icon" />;
}
