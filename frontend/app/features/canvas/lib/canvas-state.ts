import type { CanvasEdge, CanvasNode, NodePosition } from "../../../../../src/canvas.ts";

/** Server canvas state held by the client: nodes (groups before their children) and edges. */
export interface CanvasModel {
  nodes: CanvasNode[];
  edges: CanvasEdge[];
}

export const EMPTY_CANVAS: CanvasModel = { nodes: [], edges: [] };

export type CanvasAction =
  | { type: "replace"; nodes: CanvasNode[]; edges: CanvasEdge[] }
  | { type: "node-upsert"; node: CanvasNode }
  | { type: "node-delete"; id: string }
  | { type: "nodes-move"; positions: NodePosition[] }
  | { type: "edge-upsert"; edge: CanvasEdge }
  | { type: "edge-delete"; id: string };

/** Parents (groups) first, otherwise stable: React Flow needs a parent before its children. */
export function orderNodes(nodes: CanvasNode[]): CanvasNode[] {
  const groups = nodes.filter((n) => n.type === "group");
  if (groups.length === 0) return nodes;
  return [...groups, ...nodes.filter((n) => n.type !== "group")];
}

function sameNode(a: CanvasNode, b: CanvasNode): boolean {
  return (
    a.type === b.type &&
    a.label === b.label &&
    a.position_x === b.position_x &&
    a.position_y === b.position_y &&
    a.width === b.width &&
    a.height === b.height &&
    a.service_id === b.service_id &&
    a.parent_id === b.parent_id &&
    a.data === b.data
  );
}

export function canvasReducer(state: CanvasModel, action: CanvasAction): CanvasModel {
  switch (action.type) {
    case "replace":
      return { nodes: orderNodes(action.nodes), edges: action.edges };
    case "node-upsert": {
      const i = state.nodes.findIndex((n) => n.id === action.node.id);
      if (i !== -1) {
        const prev = state.nodes[i] as CanvasNode;
        // An echo of what we already show is ignored, so the node does not flicker.
        if (sameNode(prev, action.node)) return state;
        const nodes = state.nodes.slice();
        nodes[i] = action.node;
        return { ...state, nodes: prev.type === action.node.type ? nodes : orderNodes(nodes) };
      }
      return { ...state, nodes: orderNodes([...state.nodes, action.node]) };
    }
    case "node-delete": {
      const gone = state.nodes.find((n) => n.id === action.id);
      if (!gone) return state;
      // Children of a deleted group keep their place on screen: back to absolute positions.
      const nodes = state.nodes
        .filter((n) => n.id !== action.id)
        .map((n) =>
          n.parent_id === action.id
            ? { ...n, parent_id: undefined, position_x: n.position_x + gone.position_x, position_y: n.position_y + gone.position_y }
            : n,
        ) as CanvasNode[];
      for (const n of nodes) if (n.parent_id === undefined) delete n.parent_id;
      const edges = state.edges.filter((e) => e.source_id !== action.id && e.target_id !== action.id);
      return { nodes, edges };
    }
    case "nodes-move": {
      const byID = new Map(action.positions.map((p) => [p.id, p]));
      let changed = false;
      const nodes = state.nodes.map((n) => {
        const p = byID.get(n.id);
        if (!p || (p.position_x === n.position_x && p.position_y === n.position_y)) return n;
        changed = true;
        return { ...n, position_x: p.position_x, position_y: p.position_y };
      });
      return changed ? { ...state, nodes } : state;
    }
    case "edge-upsert": {
      const i = state.edges.findIndex((e) => e.id === action.edge.id);
      if (i === -1) return { ...state, edges: [...state.edges, action.edge] };
      const edges = state.edges.slice();
      edges[i] = action.edge;
      return { ...state, edges };
    }
    case "edge-delete":
      return state.edges.some((e) => e.id === action.id) ? { ...state, edges: state.edges.filter((e) => e.id !== action.id) } : state;
  }
}

/** One animation step of a remote move: 25 % of the way, snapping when closer than 0.5 px. */
export function stepToward(current: number, target: number): number {
  const d = target - current;
  if (Math.abs(d) < 0.5) return target;
  return current + d * 0.25;
}
