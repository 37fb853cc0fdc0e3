import { type Node, type NodeProps, NodeResizer } from "@xyflow/react";
import { memo, useEffect, useState } from "react";
import { cn } from "../../../../lib/utils.ts";
import type { GroupNodeData } from "../../lib/flow.ts";
import { useCanvasActions } from "../canvas-context.ts";

function GroupNodeView({ id, data, selected }: NodeProps<Node<GroupNodeData>>) {
  const actions = useCanvasActions();
  const [editing, setEditing] = useState(false);
  const [label, setLabel] = useState(data.label);
  useEffect(() => {
    if (!editing) setLabel(data.label);
  }, [data.label, editing]);
  const commit = () => {
    setEditing(false);
    if (label.trim() !== data.label) actions.updateNode(id, { label: label.trim() });
  };
  return (
    <div
      className={cn(
        "relative h-full w-full rounded-2xl border-2 border-dashed bg-primary/[0.03]",
        selected ? "border-primary/70" : "border-zinc-600/70",
        data.pendingDelete && "border-red-500/60 bg-red-500/[0.03]",
      )}
      data-testid="group-node"
      data-group-label={data.label || "Group"}
      data-pending-delete={data.pendingDelete ? "true" : undefined}
    >
      <NodeResizer
        isVisible={selected}
        minWidth={200}
        minHeight={140}
        lineClassName="!border-primary/50"
        handleClassName="!h-2.5 !w-2.5 !rounded-sm !border-primary !bg-background"
        onResizeEnd={(_e, p) => actions.updateNode(id, { width: p.width, height: p.height, position_x: p.x, position_y: p.y })}
      />
      <div className="absolute -top-3 left-3">
        {editing ? (
          <input
            className="nodrag h-6 rounded-md border border-primary bg-background px-2 text-xs outline-none"
            value={label}
            ref={(el) => el?.focus()}
            onChange={(e) => setLabel(e.target.value)}
            onBlur={commit}
            onKeyDown={(e) => {
              e.stopPropagation();
              if (e.key === "Enter") commit();
              if (e.key === "Escape") {
                setLabel(data.label);
                setEditing(false);
              }
            }}
          />
        ) : (
          <button
            type="button"
            className="h-6 rounded-md border border-border bg-card px-2 text-xs font-medium text-muted-foreground"
            onDoubleClick={() => setEditing(true)}
            title="Double-click to rename"
          >
            <span className={cn(data.pendingDelete && "line-through")}>{data.label || "Group"}</span>
          </button>
        )}
        {data.pendingDelete ? (
          <span
            className="ml-1.5 rounded bg-red-500/15 px-1 text-[10px] font-medium text-red-300"
            title="Deleted, with its variables, when you Deploy"
          >
            deleting
          </span>
        ) : null}
      </div>
    </div>
  );
}

export const GroupNode = memo(GroupNodeView);
