import "./app.css";
import { QueryClientProvider } from "@tanstack/react-query";
import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { RouterProvider } from "react-router";
import { Toaster } from "sonner";
import { makeQueryClient } from "./lib/query-client.ts";
import { router } from "./router.tsx";
import { AuthProvider } from "./shared/auth/auth-context.tsx";

const queryClient = makeQueryClient();

const root = document.getElementById("root");
if (!root) throw new Error("#root missing");
createRoot(root).render(
  <StrictMode>
    <QueryClientProvider client={queryClient}>
      <AuthProvider>
        <RouterProvider router={router} />
      </AuthProvider>
      <Toaster theme="dark" position="top-right" offset={{ top: 64, right: 16 }} closeButton richColors />
    </QueryClientProvider>
  </StrictMode>,
);
