import { type Node, type NodeProps, NodeToolbar, Position } from "@xyflow/react";
import { memo, useEffect, useRef, useState } from "react";
import { cn } from "../../../../lib/utils.ts";
import { NOTE_COLORS, type NoteNodeData } from "../../lib/flow.ts";
import { useCanvasActions } from "../canvas-context.ts";
import { NodeHandles } from "./service-node.tsx";

function NoteNodeView({ id, data, selected }: NodeProps<Node<NoteNodeData>>) {
  const actions = useCanvasActions();
  const [editing, setEditing] = useState(false);
  const [text, setText] = useState(data.text);
  const ref = useRef<HTMLTextAreaElement>(null);
  useEffect(() => {
    if (!editing) setText(data.text);
  }, [data.text, editing]);
  useEffect(() => {
    if (editing) ref.current?.focus();
  }, [editing]);
  const commit = () => {
    setEditing(false);
    if (text !== data.text) actions.updateNode(id, { label: text });
  };
  return (
    <>
      <NodeToolbar isVisible={selected && !editing} position={Position.Top}>
        <div className="flex gap-1 rounded-lg border border-border bg-popover p-1 shadow-lg">
          {NOTE_COLORS.map((c) => (
            <button
              key={c}
              type="button"
              aria-label={`Colour ${c}`}
              className={cn("size-5 rounded-full border border-black/20", c === data.color && "ring-2 ring-primary")}
              style={{ background: c }}
              onClick={() => actions.updateNode(id, { data: JSON.stringify({ backgroundColor: c }) })}
            />
          ))}
        </div>
      </NodeToolbar>
      {/* biome-ignore lint/a11y/noStaticElementInteractions: double-click to edit is the sticky-note convention; Enter on the selected node is not needed */}
      <div
        className={cn("h-[220px] w-[220px] -rotate-1 rounded-sm p-4 text-sm text-zinc-900 shadow-xl", selected && "ring-2 ring-primary")}
        style={{ background: data.color }}
        onDoubleClick={() => setEditing(true)}
        data-testid="note-node"
      >
        <NodeHandles />
        {editing ? (
          <textarea
            ref={ref}
            className="nodrag nowheel h-full w-full resize-none bg-transparent outline-none placeholder:text-zinc-600"
            value={text}
            placeholder="Type a note…"
            onChange={(e) => setText(e.target.value)}
            onBlur={commit}
            onKeyDown={(e) => {
              e.stopPropagation();
              if (e.key === "Escape") {
                setText(data.text);
                setEditing(false);
              }
            }}
          />
        ) : (
          <p className={cn("h-full overflow-hidden whitespace-pre-wrap break-words", !data.text && "text-zinc-600 italic")}>
            {data.text || "Double-click to edit"}
          </p>
        )}
      </div>
    </>
  );
}

export const NoteNode = memo(NoteNodeView);
