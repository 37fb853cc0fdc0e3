import "@xyflow/react/dist/style.css";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import {
  applyEdgeChanges,
  Background,
  BackgroundVariant,
  ConnectionMode,
  type Edge,
  type EdgeChange,
  type Node,
  Panel,
  ReactFlow,
  useReactFlow,
} from "@xyflow/react";
import { useCallback, useEffect, useLayoutEffect, useMemo, useRef, useState } from "react";
import { toast } from "sonner";
import type { Preset } from "../../../../../src/preset.ts";
import type { Project } from "../../../../../src/project.ts";
import type { Service } from "../../../../../src/service.ts";
import { ConfirmDialog } from "../../../components/ui/dialog.tsx";
import { Skeleton } from "../../../components/ui/skeleton.tsx";
import { errorText } from "../../../lib/api-client.ts";
import { useUser } from "../../../shared/auth/auth-context.tsx";
import { usePendingChanges } from "../../../shared/pending-changes/api/pending-changes.ts";
import { groupsStagedForDeletion, pendingServices, serviceOverrides, takenNames } from "../../../shared/pending-changes/lib/staged.ts";
import {
  SERVICE_ACTION_DONE,
  type ServiceAction,
  serviceAction,
  upsertServiceInCache,
  useServices,
} from "../../../shared/services/api/services.ts";
import { useCanvasEdits } from "../hooks/use-canvas-edits.ts";
import { useCanvasKeyboard } from "../hooks/use-canvas-keyboard.ts";
import { useCanvasSync } from "../hooks/use-canvas-sync.ts";
import { useNodeMoves } from "../hooks/use-node-moves.ts";
import { deriveFlowEdges, deriveFlowNodes, mergeFlowEdges, mergeFlowNodes } from "../lib/flow.ts";
import { AddDatabaseDialog } from "./add-database-dialog.tsx";
import { CanvasActionsContext, type ServicePanels, TakenNamesContext } from "./canvas-context.ts";
import { FloatingEdge } from "./floating-edge.tsx";
import { GroupPanel } from "./group-panel.tsx";
import { DraftNode, GhostNode } from "./nodes/draft-node.tsx";
import { GroupNode } from "./nodes/group-node.tsx";
import { NoteNode } from "./nodes/note-node.tsx";
import { ServiceNode } from "./nodes/service-node.tsx";
import { CanvasControls, ConnectionBadge, ContextMenu, type MenuState, PresenceAvatars, RemoteCursors } from "./overlays.tsx";
import { PendingChangesBar } from "./pending-changes-bar.tsx";

// Defined once at module scope: React Flow re-mounts every node when these objects change.
const NODE_TYPES = { service: ServiceNode, note: NoteNode, group: GroupNode, "service-draft": DraftNode, "service-drafting": GhostNode };
const EDGE_TYPES = { floating: FloatingEdge };
const PANEL_WIDTH = 520;
const CURSOR_THROTTLE_MS = 100;

export function ProjectCanvas({ project, panels }: { project: Project; panels: ServicePanels }) {
  const { ServicePanel, PendingServicePanel } = panels;
  const projectID = project.id;
  const user = useUser();
  const rf = useReactFlow();
  const sync = useCanvasSync(projectID, user.id);
  const { canvas, dispatch, send, drafts, setDrafts } = sync;
  const services = useServices(projectID);
  const pending = usePendingChanges(projectID);
  const changes = pending.data ?? [];

  const servicesByID = useMemo(() => new Map((services.data ?? []).map((s) => [s.id, s])), [services.data]);
  const overrides = useMemo(() => serviceOverrides(changes), [changes]);
  const pendingSvcs = useMemo(() => pendingServices(changes), [changes]);
  const deletingGroups = useMemo(() => groupsStagedForDeletion(changes), [changes]);
  const taken = useMemo(() => takenNames(services.data ?? [], changes), [services.data, changes]);
  const host = typeof window === "undefined" ? "localhost" : window.location.hostname;

  const derivedNodes = useMemo(
    () =>
      deriveFlowNodes({
        nodes: canvas.nodes,
        services: servicesByID,
        overrides,
        pending: pendingSvcs,
        host,
        drafts,
        ghosts: sync.ghosts,
        deletingGroups,
      }),
    [canvas.nodes, servicesByID, overrides, pendingSvcs, host, drafts, sync.ghosts, deletingGroups],
  );
  const derivedEdges = useMemo(() => deriveFlowEdges(canvas.edges, new Set(canvas.nodes.map((n) => n.id))), [canvas.edges, canvas.nodes]);
  const [nodes, setNodes] = useState<Node[]>([]);
  const [edges, setEdges] = useState<Edge[]>([]);
  useLayoutEffect(() => setNodes((prev) => mergeFlowNodes(prev, derivedNodes)), [derivedNodes]);
  useLayoutEffect(() => setEdges((prev) => mergeFlowEdges(prev, derivedEdges)), [derivedEdges]);

  const canvasRef = useRef(canvas);
  canvasRef.current = canvas;
  const draftsRef = useRef(drafts);
  draftsRef.current = drafts;

  // --- selection and side panels -------------------------------------------------------------
  const [selected, setSelected] = useState<string | null>(null);
  const selectedNode = selected ? canvas.nodes.find((n) => n.id === selected) : undefined;
  const selectedService: Service | undefined = selectedNode?.service_id ? servicesByID.get(selectedNode.service_id) : undefined;
  const panel: "service" | "pending" | "group" | null = !selectedNode
    ? null
    : selectedNode.type === "group"
      ? "group"
      : selectedNode.type === "service" && selectedService && !overrides.get(selectedService.id)?.deleted
        ? "service"
        : selectedNode.type === "service" && !selectedNode.service_id && pendingSvcs.has(selectedNode.id)
          ? "pending"
          : null;
  useEffect(() => {
    // The panel closes when its node disappears, becomes pending-delete, or stops being a service.
    if (!selected || !sync.loaded) return;
    const gone = !selectedNode || (selectedNode.service_id && overrides.get(selectedNode.service_id)?.deleted);
    if (gone || (panel === null && services.isSuccess && !services.isFetching)) setSelected(null);
  }, [selected, selectedNode, panel, sync.loaded, overrides, services.isSuccess, services.isFetching]);

  const recentre = useCallback(
    (id: string) => {
      const n = rf.getInternalNode(id);
      if (!n) return;
      const zoom = rf.getZoom();
      const w = n.measured.width ?? 300;
      const h = n.measured.height ?? 120;
      rf.setCenter(n.internals.positionAbsolute.x + w / 2 + PANEL_WIDTH / 2 / zoom, n.internals.positionAbsolute.y + h / 2, {
        zoom,
        duration: 300,
      });
    },
    [rf],
  );
  const select = useCallback(
    (id: string | null) => {
      setSelected(id);
      if (id) recentre(id);
    },
    [recentre],
  );
  sync.onCreated.current = (nodeID) => select(nodeID);

  // --- editing ---------------------------------------------------------------------------------
  const { actions, addNode, addDraft, deleteNodes, onConnect, onBeforeDelete } = useCanvasEdits({
    projectID,
    canvasRef,
    draftsRef,
    setDrafts,
    send,
    dispatch,
  });

  // --- React Flow handlers ---------------------------------------------------------------------
  const { onNodesChange, onNodeDragStart, onNodeDragStop } = useNodeMoves({
    rf,
    canvasRef,
    setNodes,
    setDrafts,
    send,
    dispatch,
    localDrag: sync.localDrag,
  });
  const onEdgesChange = useCallback(
    (chs: EdgeChange[]) =>
      setEdges((eds) =>
        applyEdgeChanges(
          chs.filter((c) => c.type !== "remove"),
          eds,
        ),
      ),
    [],
  );

  // --- menus, cursor, keyboard ---------------------------------------------------------------
  const wrapper = useRef<HTMLDivElement>(null);
  const [menu, setMenu] = useState<MenuState | null>(null);
  const [dbAt, setDbAt] = useState<{ x: number; y: number } | null>(null);
  const openMenu = (kind: MenuState["kind"], e: { clientX: number; clientY: number; preventDefault: () => void }, nodeID?: string) => {
    e.preventDefault();
    const r = wrapper.current?.getBoundingClientRect();
    const f = rf.screenToFlowPosition({ x: e.clientX, y: e.clientY });
    setMenu({
      kind,
      left: e.clientX - (r?.left ?? 0),
      top: e.clientY - (r?.top ?? 0),
      flowX: f.x,
      flowY: f.y,
      ...(nodeID ? { nodeID } : {}),
    });
  };
  // Restart / Stop (confirmed) / Start from a service node's menu: the panel's immediate actions.
  const menuNode = menu?.kind === "node" && menu.nodeID ? canvas.nodes.find((n) => n.id === menu.nodeID) : undefined;
  const menuService = menuNode?.service_id ? servicesByID.get(menuNode.service_id) : undefined;
  const [confirmStop, setConfirmStop] = useState<Service | null>(null);
  const qc = useQueryClient();
  const action = useMutation({
    mutationFn: ({ svc, a }: { svc: Service; a: ServiceAction }) => serviceAction(projectID, svc.id, a),
    onSuccess: (svc) => upsertServiceInCache(qc, projectID, svc),
  });
  const runAction = (svc: Service, a: ServiceAction, after?: () => void) =>
    action.mutate(
      { svc, a },
      {
        onSuccess: () => {
          toast.success(`${svc.name}: ${SERVICE_ACTION_DONE[a]}`);
          after?.();
        },
        onError: (e) => toast.error(errorText(e)),
      },
    );
  const lastCursor = useRef(0);
  const onMouseMove = (e: React.MouseEvent) => {
    const now = performance.now();
    if (now - lastCursor.current < CURSOR_THROTTLE_MS) return;
    lastCursor.current = now;
    const f = rf.screenToFlowPosition({ x: e.clientX, y: e.clientY });
    send("cursor:move", { x: Math.round(f.x), y: Math.round(f.y) });
  };
  const viewportCentre = useCallback(() => {
    const r = wrapper.current?.getBoundingClientRect();
    return rf.screenToFlowPosition({
      x: (r?.left ?? 0) + (r?.width ?? 800) / 2 - (selected ? PANEL_WIDTH / 2 : 0),
      y: (r?.top ?? 0) + (r?.height ?? 600) / 2,
    });
  }, [rf, selected]);
  useCanvasKeyboard({
    rf,
    onEscape: () => {
      setMenu(null);
      if (selected) setSelected(null);
    },
    addServiceDraft: () => {
      const c = viewportCentre();
      addDraft(c.x, c.y);
    },
    addNote: () => {
      const c = viewportCentre();
      addNode("note", c.x, c.y);
    },
  });

  const fitted = useRef(false);
  useEffect(() => {
    if (sync.loaded && !fitted.current && nodes.length > 0) {
      fitted.current = true;
      // includeHiddenNodes: culled (never rendered) nodes count by their declared size.
      requestAnimationFrame(() => void rf.fitView({ padding: 0.2, maxZoom: 1, includeHiddenNodes: true }));
    }
  }, [sync.loaded, nodes.length, rf]);

  const pickPreset = (p: Preset) => {
    if (!dbAt) return;
    addDraft(dbAt.x, dbAt.y, {
      name: p.id,
      image: p.image,
      icon_url: p.icon_url,
      // Generated secrets come sealed: shown in the draft this once, write-only once created.
      env_vars: p.env_vars.map((e) => ({ key: e.key, value: e.value ?? "", ...(e.sealed ? { sealed: true } : {}) })),
      ...(p.ports ? { ports: p.ports } : {}),
      ...(p.volumes ? { volumes: p.volumes } : {}),
      ...(p.start_command ? { start_command: p.start_command } : {}),
    });
  };

  return (
    <CanvasActionsContext.Provider value={actions}>
      <TakenNamesContext.Provider value={taken}>
        <div
          ref={wrapper}
          role="application"
          aria-label="Project canvas"
          className="relative h-full w-full"
          onMouseMove={onMouseMove}
          data-testid="canvas"
        >
          <ReactFlow
            nodes={nodes}
            edges={edges}
            nodeTypes={NODE_TYPES}
            edgeTypes={EDGE_TYPES}
            onNodesChange={onNodesChange}
            onEdgesChange={onEdgesChange}
            onNodeDragStart={onNodeDragStart}
            onNodeDragStop={onNodeDragStop}
            onConnect={onConnect}
            onBeforeDelete={onBeforeDelete}
            onNodeClick={(_e, n) => {
              setMenu(null);
              if (n.type === "service" || n.type === "group") select(n.id);
            }}
            onPaneClick={() => {
              setMenu(null);
              setSelected(null);
            }}
            onPaneContextMenu={(e) => openMenu("pane", e)}
            onNodeContextMenu={(e, n) => {
              if (n.type === "service-draft" || n.type === "service-drafting") return e.preventDefault();
              openMenu("node", e, n.id);
            }}
            connectionMode={ConnectionMode.Loose}
            deleteKeyCode={["Backspace", "Delete"]}
            maxZoom={1.5}
            minZoom={0.1}
            panOnScroll
            zoomOnScroll={false}
            zoomOnPinch
            proOptions={{ hideAttribution: true }}
            colorMode="dark"
            onlyRenderVisibleElements
          >
            <Background variant={BackgroundVariant.Dots} gap={20} size={1.2} color="#2e3546" />
            <RemoteCursors store={sync.cursorStore} />
            <CanvasControls projectID={projectID} />
            <Panel position="top-left">
              <ConnectionBadge status={sync.status} onReconnect={sync.reconnect} />
            </Panel>
            {panel === null ? (
              <Panel position="top-right">
                <PresenceAvatars users={sync.users} />
              </Panel>
            ) : null}
          </ReactFlow>
          {/* Centred in the part of the canvas the side panel leaves visible, never under it. */}
          <div
            className="pointer-events-none absolute bottom-4 left-0 z-30 flex justify-center px-4"
            style={{ right: panel !== null ? PANEL_WIDTH : 0 }}
          >
            <div className="pointer-events-auto">
              <PendingChangesBar project={project} services={servicesByID} nodes={canvas.nodes} />
            </div>
          </div>
          {sync.loaded && canvas.nodes.length === 0 && drafts.length === 0 ? (
            <div className="pointer-events-none absolute inset-0 flex items-center justify-center">
              <div className="rounded-xl border border-dashed border-border bg-card/60 px-6 py-4 text-center text-sm text-muted-foreground">
                <p className="font-medium text-foreground">An empty canvas</p>
                <p>Right-click to add a service, a database, a note or a group.</p>
                <p className="mt-1 text-xs">Shortcuts: S service · N note · F fit view · Ctrl+Enter deploy</p>
              </div>
            </div>
          ) : null}
          {!sync.loaded ? (
            <div className="absolute inset-0 flex items-center justify-center bg-background/70" aria-busy="true">
              <div className="grid w-72 gap-3">
                <Skeleton className="h-24" />
                <Skeleton className="h-24" />
                <p className="text-center text-sm text-muted-foreground">Loading project canvas…</p>
              </div>
            </div>
          ) : null}
          {menu ? (
            <ContextMenu
              menu={menu}
              onClose={() => setMenu(null)}
              onAddService={() => addDraft(menu.flowX, menu.flowY)}
              onAddDatabase={() => setDbAt({ x: menu.flowX, y: menu.flowY })}
              onAddNote={() => addNode("note", menu.flowX, menu.flowY)}
              onAddGroup={() => addNode("group", menu.flowX, menu.flowY)}
              onDelete={() => menu.nodeID && deleteNodes([menu.nodeID])}
              service={menuService}
              onServiceAction={(a) => {
                if (!menuService) return;
                if (a === "stop") setConfirmStop(menuService);
                else runAction(menuService, a);
              }}
            />
          ) : null}
          {panel === "service" && selectedService ? (
            <ServicePanel
              key={selectedService.id}
              projectID={projectID}
              service={selectedService}
              taken={taken}
              groupID={selectedNode?.parent_id ?? null}
              onClose={() => setSelected(null)}
            />
          ) : panel === "pending" && selectedNode ? (
            <PendingServicePanel key={selectedNode.id} projectID={projectID} tempID={selectedNode.id} onClose={() => setSelected(null)} />
          ) : panel === "group" && selectedNode ? (
            <GroupPanel key={selectedNode.id} projectID={projectID} group={selectedNode} onClose={() => setSelected(null)} />
          ) : null}
          <ConfirmDialog
            open={confirmStop !== null}
            onOpenChange={(o) => !o && setConfirmStop(null)}
            title={`Stop ${confirmStop?.name ?? "service"}?`}
            description="Its containers are stopped and stay down until you start it again. The deployment and its data are kept."
            confirmLabel="Stop"
            destructive
            pending={action.isPending}
            onConfirm={() => confirmStop && runAction(confirmStop, "stop", () => setConfirmStop(null))}
          />
          <AddDatabaseDialog open={dbAt !== null} onOpenChange={(o) => !o && setDbAt(null)} onPick={pickPreset} />
        </div>
      </TakenNamesContext.Provider>
    </CanvasActionsContext.Provider>
  );
}
