import {
  BaseEdge,
  type Edge,
  EdgeLabelRenderer,
  type EdgeProps,
  getSmoothStepPath,
  type InternalNode,
  Position,
  useInternalNode,
} from "@xyflow/react";
import { memo } from "react";
import type { EdgeData } from "../lib/flow.ts";
import { type Box, borderPoint, type Side, sideOf } from "../lib/geometry.ts";

const SIDE: Record<Side, Position> = { top: Position.Top, right: Position.Right, bottom: Position.Bottom, left: Position.Left };

function box(n: InternalNode): Box {
  return {
    x: n.internals.positionAbsolute.x,
    y: n.internals.positionAbsolute.y,
    width: n.measured.width ?? n.width ?? 0,
    height: n.measured.height ?? n.height ?? 0,
  };
}

/** Endpoints slide to the nearest side of each node; managed env-ref edges are dashed with their keys. */
function FloatingEdgeView({ id, source, target, label, data, selected, markerEnd }: EdgeProps<Edge<EdgeData>>) {
  const s = useInternalNode(source);
  const t = useInternalNode(target);
  if (!s || !t) return null;
  const sb = box(s);
  const tb = box(t);
  const sp = borderPoint(sb, tb);
  const tp = borderPoint(tb, sb);
  const [path, lx, ly] = getSmoothStepPath({
    sourceX: sp.x,
    sourceY: sp.y,
    sourcePosition: SIDE[sideOf(sb, sp)],
    targetX: tp.x,
    targetY: tp.y,
    targetPosition: SIDE[sideOf(tb, tp)],
    borderRadius: 8,
  });
  const managed = data?.managed ?? false;
  return (
    <>
      <BaseEdge
        id={id}
        path={path}
        {...(markerEnd ? { markerEnd } : {})}
        style={{
          stroke: managed ? "var(--color-primary)" : selected ? "#e6e8ee" : "#5b647a",
          strokeWidth: selected ? 2 : 1.5,
          strokeDasharray: managed ? "6 4" : undefined,
        }}
      />
      {label ? (
        <EdgeLabelRenderer>
          <div
            className="nodrag nopan pointer-events-auto absolute rounded-full border border-border bg-card px-2 py-0.5 font-mono text-[10px] text-muted-foreground"
            style={{ transform: `translate(-50%, -50%) translate(${lx}px, ${ly}px)` }}
            title={managed ? "Managed: drawn from ${{name.HOST}} references" : undefined}
          >
            {label}
          </div>
        </EdgeLabelRenderer>
      ) : null}
    </>
  );
}

export const FloatingEdge = memo(FloatingEdgeView);
