/**
 * The workflow editor at `/workflows/<global id>`: palette, canvas, save, run.
 *
 * The canvas state (React Flow nodes and edges) is the source of truth while editing; every
 * committed change goes to the undo history and to a localStorage draft, so a reload or an
 * expired token loses nothing. What the server decides stays on the server: validation
 * problems come from `validateWorkflow` (debounced, as the user edits) and from the save, and
 * are pinned to the node their path names.
 */
import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import { useParams } from "react-router-dom";
import { CombinedError, useClient, useMutation, useQuery } from "urql";
import {
  applyEdgeChanges,
  applyNodeChanges,
  Background,
  Controls,
  MiniMap,
  ReactFlow,
  ReactFlowProvider,
  useReactFlow,
  type Connection,
  type EdgeChange,
  type NodeChange,
} from "@xyflow/react";
import "@xyflow/react/dist/style.css";
import type { RJSFSchema } from "@rjsf/utils";
import { apiError, hasCode, nodeIndexOf, type Problem, documentPath } from "../api/errors";
import {
  EditorQuery,
  ExecuteWorkflowMutation,
  LatestVersionQuery,
  PaletteRefsQuery,
  RecordToolPlacementMutation,
  SaveWorkflowMutation,
  SetToolFavoriteMutation,
  ValidateWorkflowQuery,
} from "../api/operations";
import type { EditorQuery as EditorQueryResult, PaletteItemFieldsFragment } from "../gql/graphql";
import { Palette, PALETTE_MIME } from "../palette/Palette";
import { entryFor, paletteEntries, typeLabel, type PaletteEntry } from "../palette/model";
import { useRefetchOnReconnect } from "../shell/useRefetchOnReconnect";
import { ConflictDialog, type Conflict } from "./ConflictDialog";
import {
  documentKey,
  duplicate,
  flowEdge,
  newNodeId,
  parseDocument,
  schemaDefaults,
  toDocument,
  toFlow,
  type NodeState,
  type WeftEdge,
  type DocNode,
  type WeftNode,
  type WorkflowDocument,
} from "./document";
import { clearDraft, readDraft, writeDraft } from "./drafts";
import { loadAllTools, type PaletteTool } from "./loadTools";
import { push, redo, start, undo, type History } from "./history";
import { autoLayout, NODE_HEIGHT, NODE_WIDTH } from "./layout";
import { NodeLooks, type NodeLook } from "./nodeLooks";
import { RunDialog, type RunResult } from "./RunDialog";
import { WeftNodeView } from "./WeftNodeView";
import { NodeConfigPanel } from "../panel/NodeConfigPanel";

const nodeTypes = { weft: WeftNodeView };
const VALIDATE_DELAY_MS = 400;

export default function EditorPage() {
  const { id = "" } = useParams();
  const [generation, setGeneration] = useState(0);
  const [{ data, error }, refetch] = useQuery({ query: EditorQuery, variables: { id }, requestPolicy: "network-only" });
  const client = useClient();
  const [tools, setTools] = useState<PaletteTool[] | null>(null);
  const [toolsError, setToolsError] = useState<CombinedError | null>(null);
  const loadTools = useCallback(() => {
    loadAllTools(client).then(setTools, (e: unknown) => e instanceof CombinedError && setToolsError(e));
  }, [client]);
  useEffect(loadTools, [loadTools]);
  useRefetchOnReconnect(() => {
    refetch({ requestPolicy: "network-only" });
    loadTools();
  });

  const failure = (error && !data) || (toolsError && !tools) ? (error ?? toolsError) : null;
  if (failure) {
    const read = apiError(failure);
    return (
      <main className="page">
        <h1>Workflow</h1>
        <p role="alert" className="field-error">
          {read.code === "NOT_FOUND" ? "There is no workflow with this id, or you may not see it." : read.message}
        </p>
      </main>
    );
  }
  if (!data || !tools) return <p className="loading">Loading the workflow…</p>;
  return (
    <ReactFlowProvider>
      <Editor
        key={`${data.workflow.id}:${generation}`}
        data={data}
        tools={tools}
        onReload={() => {
          refetch({ requestPolicy: "network-only" });
          setGeneration((g) => g + 1);
        }}
      />
    </ReactFlowProvider>
  );
}

interface Snapshot {
  doc: WorkflowDocument;
}

function Editor({ data, tools, onReload }: { data: EditorQueryResult; tools: PaletteTool[]; onReload: () => void }) {
  const workflow = data.workflow;
  const client = useClient();
  const flow = useReactFlow<WeftNode, WeftEdge>();
  const canvasRef = useRef<HTMLDivElement>(null);

  // ---- what the palette and canvas know about node types and tools
  const entries = useMemo(() => paletteEntries(data.nodeTypes, tools), [data.nodeTypes, tools]);
  const looks = useMemo(() => {
    const map = new Map<string, NodeLook>();
    for (const t of data.nodeTypes) map.set(`type:${t.type}`, { icon: t.icon, typeLabel: typeLabel(t.type), handles: t.handles });
    const customHandles = data.nodeTypes.find((t) => t.type === "custom")?.handles ?? ["main", "error"];
    for (const e of entries) {
      if (e.toolUuid) map.set(`tool:${e.toolUuid}`, { icon: e.icon, typeLabel: "Tool", handles: customHandles });
    }
    return map;
  }, [data.nodeTypes, entries]);
  const [favorites, setFavorites] = useState<PaletteItemFieldsFragment[]>([]);
  const [recents, setRecents] = useState<PaletteItemFieldsFragment[]>([]);
  const [paletteError, setPaletteError] = useState<string | null>(null);
  useEffect(() => {
    void client
      .query(PaletteRefsQuery, {}, { requestPolicy: "network-only" })
      .toPromise()
      .then((r) => {
        if (r.data) {
          setFavorites(r.data.viewer.favoriteTools);
          setRecents(r.data.viewer.recentTools);
        } else if (r.error) setPaletteError(`Favorites and recent tools are unavailable: ${apiError(r.error).message}`);
      });
  }, [client]);
  const favoriteEntries = useMemo(
    () => favorites.flatMap((f) => entryFor(f, entries) ?? []),
    [favorites, entries],
  );
  const recentEntries = useMemo(() => recents.flatMap((r) => entryFor(r, entries) ?? []), [recents, entries]);

  // ---- the graph, its history and its draft
  const initial = useMemo(() => {
    const draft = readDraft(workflow.id);
    const serverDoc = parseDocument(workflow.document);
    if (draft && documentKey(draft.document) !== documentKey(serverDoc)) {
      return { doc: parseDocument(draft.document), baseVersion: draft.baseVersion, restored: true, serverDoc };
    }
    return { doc: serverDoc, baseVersion: workflow.version, restored: false, serverDoc };
  }, [workflow]);
  const [nodes, setNodes] = useState<WeftNode[]>(() => toFlow(initial.doc).nodes);
  const [edges, setEdges] = useState<WeftEdge[]>(() => toFlow(initial.doc).edges);
  const [baseVersion, setBaseVersion] = useState(initial.baseVersion);
  const [savedKey, setSavedKey] = useState(() => documentKey(toDocument(toFlow(initial.serverDoc).nodes, toFlow(initial.serverDoc).edges)));
  const [restored, setRestored] = useState(initial.restored);
  const [history, setHistory] = useState<History<Snapshot>>(() => start({ doc: initial.doc }));

  const currentDoc = useMemo(() => toDocument(nodes, edges), [nodes, edges]);
  const currentKey = useMemo(() => documentKey(currentDoc), [currentDoc]);
  const dirty = currentKey !== savedKey;

  useEffect(() => {
    if (dirty) writeDraft(workflow.id, { baseVersion, document: currentDoc, savedAt: new Date().toISOString() });
    else clearDraft(workflow.id);
  }, [currentKey, dirty, baseVersion, workflow.id]); // eslint-disable-line react-hooks/exhaustive-deps

  /** Records the graph as one undoable step. */
  const commit = useCallback((nextNodes: WeftNode[], nextEdges: WeftEdge[]) => {
    setNodes(nextNodes);
    setEdges(nextEdges);
    const snapshot = { doc: toDocument(nextNodes, nextEdges) };
    setHistory((h) => push(h, snapshot, (a, b) => documentKey(a.doc) === documentKey(b.doc)));
  }, []);

  const restore = useCallback((h: History<Snapshot>) => {
    setHistory(h);
    const { nodes: n, edges: e } = toFlow(h.present.doc);
    setNodes(n);
    setEdges(e);
  }, []);

  // ---- server validation, debounced, pinned to nodes
  const [liveProblems, setLiveProblems] = useState<Problem[]>([]);
  // Problems of a failed save hold until the graph changes; then live validation takes over.
  const [saveProblemsOf, setSaveProblems] = useState<{ key: string; problems: Problem[] } | null>(null);
  useEffect(() => {
    const timer = window.setTimeout(async () => {
      const result = await client.query(ValidateWorkflowQuery, { document: currentDoc }, { requestPolicy: "network-only" }).toPromise();
      if (result.data) setLiveProblems(result.data.validateWorkflow.problems);
    }, VALIDATE_DELAY_MS);
    return () => window.clearTimeout(timer);
  }, [currentKey]); // eslint-disable-line react-hooks/exhaustive-deps
  const saveProblems = saveProblemsOf?.key === currentKey ? saveProblemsOf.problems : null;
  const problems = saveProblems ?? liveProblems;
  const problemsByNode = useMemo(() => {
    const map = new Map<string, string[]>();
    for (const p of problems) {
      const index = nodeIndexOf(p.path);
      const node = index === null ? undefined : currentDoc.nodes[index];
      if (!node) continue;
      const field = documentPath(p.path).replace(/^nodes\[\d+\]\.?/, "");
      const list = map.get(node.id) ?? [];
      list.push(field ? `${field}: ${p.message}` : p.message);
      map.set(node.id, list);
    }
    return map;
  }, [problems, currentDoc]);
  const graphProblems = problems.filter((p) => nodeIndexOf(p.path) === null);

  // ---- run states shown on the nodes
  const [runStates, setRunStates] = useState<Map<string, NodeState>>(new Map());

  const shownNodes = useMemo(
    () =>
      nodes.map((n) => {
        const state = runStates.get(n.id) ?? "idle";
        const nodeProblems = problemsByNode.get(n.id) ?? [];
        if (n.data.state === state && n.data.problems.join("\n") === nodeProblems.join("\n") && n.domAttributes) return n;
        return {
          ...n,
          data: { ...n.data, state, problems: nodeProblems },
          domAttributes: { "data-state": state } as WeftNode["domAttributes"],
        };
      }),
    [nodes, runStates, problemsByNode],
  );

  // ---- canvas events
  const onNodesChange = useCallback(
    (changes: NodeChange<WeftNode>[]) => {
      const next = applyNodeChanges(changes, nodes);
      const structural = changes.some((c) => c.type === "remove" || (c.type === "position" && c.dragging === false));
      if (structural) {
        const ids = new Set(next.map((n) => n.id));
        commit(next, edges.filter((e) => ids.has(e.source) && ids.has(e.target)));
      } else setNodes(next);
    },
    [nodes, edges, commit],
  );
  const onEdgesChange = useCallback(
    (changes: EdgeChange<WeftEdge>[]) => {
      const next = applyEdgeChanges(changes, edges);
      if (changes.some((c) => c.type === "remove")) commit(nodes, next);
      else setEdges(next);
    },
    [nodes, edges, commit],
  );
  const onConnect = useCallback(
    (c: Connection) => {
      const edge = flowEdge({ source: c.source, target: c.target, sourceHandle: c.sourceHandle ?? "main" });
      if (edges.some((e) => e.id === edge.id)) return;
      commit(nodes, [...edges, edge]);
    },
    [nodes, edges, commit],
  );

  const addEntry = useCallback(
    (entry: PaletteEntry, at: { x: number; y: number }) => {
      const type = data.nodeTypes.find((t) => t.type === entry.nodeType);
      const id = newNodeId(entry.nodeType === "custom" ? entry.label : entry.nodeType, nodes.map((n) => n.id));
      const config = entry.toolUuid ? { toolId: entry.toolUuid } : schemaDefaults(type?.configSchema);
      const node: WeftNode = {
        id,
        type: "weft",
        position: { x: Math.round(at.x - NODE_WIDTH / 2), y: Math.round(at.y - NODE_HEIGHT / 2) },
        data: { doc: { id, type: entry.nodeType, name: entry.label, config }, state: "idle", problems: [] },
        selected: true,
      };
      commit([...nodes.map((n) => (n.selected ? { ...n, selected: false } : n)), node], edges);
      void client
        .mutation(RecordToolPlacementMutation, { input: { nodeType: entry.nodeType, toolId: entry.toolId } })
        .toPromise()
        .then((r) => {
          if (r.data) setRecents(r.data.recordToolPlacement);
        });
    },
    [client, data.nodeTypes, nodes, edges, commit],
  );

  const addAtCentre = useCallback(
    (entry: PaletteEntry) => {
      const rect = canvasRef.current?.getBoundingClientRect();
      const centre = rect
        ? flow.screenToFlowPosition({ x: rect.left + rect.width / 2, y: rect.top + rect.height / 2 })
        : { x: 0, y: 0 };
      addEntry(entry, centre);
    },
    [addEntry, flow],
  );

  const onDrop = useCallback(
    (e: React.DragEvent) => {
      const key = e.dataTransfer.getData(PALETTE_MIME);
      const entry = entries.find((x) => x.key === key);
      if (!entry) return;
      e.preventDefault();
      addEntry(entry, flow.screenToFlowPosition({ x: e.clientX, y: e.clientY }));
    },
    [entries, addEntry, flow],
  );

  const toggleFavorite = useCallback(
    async (entry: PaletteEntry, favorite: boolean) => {
      const r = await client
        .mutation(SetToolFavoriteMutation, { input: { nodeType: entry.nodeType, toolId: entry.toolId, favorite } })
        .toPromise();
      if (r.data) {
        setFavorites(r.data.setToolFavorite);
        setPaletteError(null);
      } else if (r.error) setPaletteError(`Could not change favorites: ${apiError(r.error).message}`);
    },
    [client],
  );

  // ---- clipboard and keyboard
  const clipboard = useRef<{ nodes: WeftNode[]; edges: WeftEdge[] } | null>(null);
  const copy = useCallback(() => {
    const selected = nodes.filter((n) => n.selected);
    if (selected.length === 0) return;
    const ids = new Set(selected.map((n) => n.id));
    clipboard.current = { nodes: selected, edges: edges.filter((e) => ids.has(e.source) && ids.has(e.target)) };
  }, [nodes, edges]);
  const paste = useCallback(() => {
    const c = clipboard.current;
    if (!c) return;
    const copies = duplicate(c.nodes, c.edges, nodes.map((n) => n.id), { x: 40, y: 40 });
    clipboard.current = { nodes: copies.nodes, edges: copies.edges };
    commit([...nodes.map((n) => ({ ...n, selected: false })), ...copies.nodes], [...edges, ...copies.edges]);
  }, [nodes, edges, commit]);
  const layout = useCallback(() => {
    commit(autoLayout(nodes, edges), edges);
    window.requestAnimationFrame(() => void flow.fitView({ duration: 200 }));
  }, [nodes, edges, commit, flow]);

  const onKeyDown = useCallback(
    (e: React.KeyboardEvent) => {
      const target = e.target as HTMLElement;
      if (target.closest("input, textarea, select, [contenteditable=true], .cm-editor")) return;
      const mod = e.ctrlKey || e.metaKey;
      if (!mod) return;
      const key = e.key.toLowerCase();
      if (key === "z" && !e.shiftKey) restore(undo(history));
      else if ((key === "z" && e.shiftKey) || key === "y") restore(redo(history));
      else if (key === "c") copy();
      else if (key === "v") paste();
      else return;
      e.preventDefault();
    },
    [restore, copy, paste, history],
  );

  // ---- save
  const [saving, setSaving] = useState(false);
  const [notice, setNotice] = useState<string | null>(null);
  const [saveError, setSaveError] = useState<string | null>(null);
  const [conflict, setConflict] = useState<Conflict | null>(null);
  const [, save] = useMutation(SaveWorkflowMutation);

  const doSave = useCallback(
    async (expectedVersion: number): Promise<boolean> => {
      setSaving(true);
      setSaveError(null);
      const doc = currentDoc;
      const key = currentKey;
      const result = await save({ input: { id: workflow.id, document: doc, expectedVersion } });
      setSaving(false);
      if (result.data) {
        setBaseVersion(result.data.updateWorkflow.version);
        setSavedKey(key);
        setSaveProblems(null);
        setRestored(false);
        clearDraft(workflow.id);
        setNotice(`Saved version ${result.data.updateWorkflow.version}.`);
        return true;
      }
      if (!result.error) return false;
      if (hasCode(result.error, "CONFLICT")) {
        const latest = await client.query(LatestVersionQuery, { id: workflow.id }, { requestPolicy: "network-only" }).toPromise();
        const w = latest.data?.workflow;
        const v = w?.versions.edges[0]?.node;
        const by = v?.createdBy ? `${v.createdBy.name} (${v.createdBy.email})` : null;
        setConflict({ version: w?.version ?? expectedVersion + 1, by, at: v?.createdAt ?? w?.updatedAt ?? null });
        return false;
      }
      const read = apiError(result.error);
      if (read.problems.length > 0) setSaveProblems({ key, problems: read.problems });
      setSaveError(read.network ? "Not saved: the server cannot be reached. Your changes are kept in this browser." : `Not saved: ${read.message}`);
      return false;
    },
    [client, currentDoc, currentKey, save, workflow.id],
  );

  // ---- run
  const [runOpen, setRunOpen] = useState(false);
  const [running, setRunning] = useState(false);
  const [runResult, setRunResult] = useState<RunResult | null>(null);
  const [runError, setRunError] = useState<string | null>(null);
  const [, execute] = useMutation(ExecuteWorkflowMutation);
  const trigger = currentDoc.nodes.find((n) => n.type === "trigger");
  const inputSchema = (() => {
    const s = trigger?.config?.inputSchema;
    return s && typeof s === "object" ? (s as RJSFSchema) : null;
  })();

  const run = useCallback(
    async (input: unknown) => {
      setRunError(null);
      setRunResult(null);
      if (dirty && !(await doSave(baseVersion))) {
        setRunError("The workflow must be saved before it runs; saving failed (see above).");
        return;
      }
      setRunning(true);
      setRunStates(new Map(nodes.map((n) => [n.id, "pending" as NodeState])));
      const result = await execute({ id: workflow.id, input });
      setRunning(false);
      if (result.error || !result.data) {
        setRunStates(new Map());
        setRunError(result.error ? apiError(result.error).message : "The run returned nothing.");
        return;
      }
      const execution = result.data.executeWorkflow;
      const states = new Map<string, NodeState>();
      for (const r of execution.nodeRuns) states.set(r.nodeId, r.status as NodeState);
      for (const n of nodes) if (!states.has(n.id)) states.set(n.id, "skipped");
      setRunStates(states);
      setRunResult({ id: execution.id, status: execution.status, output: execution.output, error: execution.error });
    },
    [dirty, doSave, baseVersion, nodes, execute, workflow.id],
  );

  const canUndo = history.past.length > 0;
  const canRedo = history.future.length > 0;
  const readOnly = workflow.myRole === "VIEWER" || workflow.myRole === "RUNNER";

  // ---- the node configuration panel (src/panel) for the one selected node
  const selectedNodes = nodes.filter((n) => n.selected);
  const panelNode = selectedNodes.length === 1 ? selectedNodes[0] : undefined;
  const saveNode = (doc: DocNode) =>
    commit(
      nodes.map((n) => (n.id === doc.id ? { ...n, data: { ...n.data, doc } } : n)),
      edges,
    );

  return (
    <NodeLooks.Provider value={looks}>
      <div className="editor">
        <Palette
          entries={entries}
          favorites={favoriteEntries}
          recents={recentEntries}
          onAdd={addAtCentre}
          onToggleFavorite={(entry, fav) => void toggleFavorite(entry, fav)}
          error={paletteError}
        />
        <div className="editor-main">
          <div className="toolbar" role="toolbar" aria-label="Workflow">
            <h1>{workflow.name}</h1>
            <span className="muted" data-testid="save-state">
              {dirty ? "Unsaved changes" : `Saved · version ${baseVersion}`}
            </span>
            <span className="spacer" />
            <button type="button" onClick={() => restore(undo(history))} disabled={!canUndo} title="Undo (Ctrl+Z)">
              Undo
            </button>
            <button type="button" onClick={() => restore(redo(history))} disabled={!canRedo} title="Redo (Ctrl+Shift+Z)">
              Redo
            </button>
            <button type="button" onClick={layout} disabled={nodes.length === 0}>
              Auto-layout
            </button>
            <button type="button" onClick={() => void flow.fitView({ duration: 200 })}>
              Zoom to fit
            </button>
            <button type="button" onClick={() => void doSave(baseVersion)} disabled={saving || readOnly || !dirty} className="primary">
              {saving ? "Saving…" : "Save"}
            </button>
            <button
              type="button"
              onClick={() => {
                setRunOpen(true);
                setRunResult(null);
                setRunError(null);
              }}
              disabled={!trigger}
              title={trigger ? "Run this workflow" : "Add a trigger to run the workflow"}
            >
              Run…
            </button>
          </div>
          {restored && (
            <div className="banner banner-info" role="status">
              Restored your unsaved changes from this browser.
              <button
                type="button"
                onClick={() => {
                  clearDraft(workflow.id);
                  onReload();
                }}
              >
                Discard them
              </button>
            </div>
          )}
          {notice && !dirty && (
            <div className="visually-hidden" role="status">
              {notice}
            </div>
          )}
          {saveError && (
            <div className="banner banner-error" role="alert">
              {saveError}
            </div>
          )}
          {graphProblems.length > 0 && (
            <ul className="problem-list" aria-label="Workflow problems">
              {graphProblems.map((p) => (
                <li key={`${p.path}:${p.message}`}>
                  <code>{documentPath(p.path)}</code>: {p.message}
                </li>
              ))}
            </ul>
          )}
          <div className="canvas" ref={canvasRef} onKeyDown={onKeyDown} onDragOver={(e) => {
            if (e.dataTransfer.types.includes(PALETTE_MIME)) {
              e.preventDefault();
              e.dataTransfer.dropEffect = "copy";
            }
          }} onDrop={onDrop}>
            <ReactFlow<WeftNode, WeftEdge>
              nodes={shownNodes}
              edges={edges}
              nodeTypes={nodeTypes}
              onNodesChange={onNodesChange}
              onEdgesChange={onEdgesChange}
              onConnect={onConnect}
              deleteKeyCode={["Delete", "Backspace"]}
              fitView
              minZoom={0.1}
              nodesDraggable={!readOnly}
              nodesConnectable={!readOnly}
              aria-label="Workflow canvas"
            >
              <Background />
              <MiniMap pannable zoomable ariaLabel="Minimap" />
              <Controls />
            </ReactFlow>
          </div>
        </div>
        {panelNode && (
          <NodeConfigPanel
            document={currentDoc}
            nodeId={panelNode.id}
            nodeTypes={data.nodeTypes}
            tools={tools}
            workflowId={workflow.id}
            readOnly={readOnly}
            onSave={saveNode}
            onClose={() => setNodes(nodes.map((n) => (n.selected ? { ...n, selected: false } : n)))}
          />
        )}
      </div>
      {conflict && (
        <ConflictDialog
          conflict={conflict}
          onCancel={() => setConflict(null)}
          onReload={() => {
            setConflict(null);
            clearDraft(workflow.id);
            onReload();
          }}
          onOverwrite={() => {
            const v = conflict.version;
            setConflict(null);
            void doSave(v);
          }}
        />
      )}
      {runOpen && (
        <RunDialog
          inputSchema={inputSchema}
          running={running}
          result={runResult}
          error={runError}
          onRun={(input) => void run(input)}
          onClose={() => setRunOpen(false)}
        />
      )}
    </NodeLooks.Provider>
  );
}
