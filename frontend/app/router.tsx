import { createBrowserRouter, Navigate, Outlet } from "react-router";
import { DashboardLayout } from "./components/dashboard-layout.tsx";
import { RouteErrorBoundary } from "./components/error-boundary.tsx";
import { LoginPage } from "./features/auth/components/login-page.tsx";
import { SetupPage } from "./features/auth/components/setup-page.tsx";
import { ProjectsPage } from "./features/projects/components/projects-page.tsx";
import { IndexRedirect } from "./routes/index-redirect.tsx";
import { GuestOnly, RequireAdmin, RequireAuth } from "./shared/auth/auth-context.tsx";

/** Heavy screens (canvas, settings, profile) are separate chunks, so first load stays small. */
export const router = createBrowserRouter([
  {
    errorElement: <RouteErrorBoundary />,
    children: [
      { path: "/", element: <IndexRedirect /> },
      {
        path: "/login",
        element: (
          <GuestOnly>
            <LoginPage />
          </GuestOnly>
        ),
      },
      { path: "/register", element: <Navigate to="/setup" replace /> },
      {
        path: "/setup",
        element: (
          <GuestOnly>
            <SetupPage />
          </GuestOnly>
        ),
      },
      {
        element: (
          <RequireAuth>
            <DashboardLayout />
          </RequireAuth>
        ),
        errorElement: <RouteErrorBoundary />,
        children: [
          { path: "/projects", element: <ProjectsPage /> },
          { path: "/projects/:projectId", lazy: async () => ({ Component: (await import("./routes/project-canvas.tsx")).default }) },
          {
            path: "/projects/:projectId/settings",
            lazy: async () => ({ Component: (await import("./routes/project-settings.tsx")).default }),
          },
          { path: "/device", lazy: async () => ({ Component: (await import("./routes/device.tsx")).default }) },
          { path: "/profile", lazy: async () => ({ Component: (await import("./routes/profile.tsx")).default }) },
          {
            path: "/settings",
            element: (
              <RequireAdmin>
                <Outlet />
              </RequireAdmin>
            ),
            children: [
              {
                lazy: async () => ({ Component: (await import("./routes/admin-settings.tsx")).AdminSettingsLayout }),
                children: [
                  { index: true, lazy: async () => ({ Component: (await import("./routes/admin-settings.tsx")).GeneralSettings }) },
                  { path: "users", lazy: async () => ({ Component: (await import("./routes/admin-settings.tsx")).UsersSettings }) },
                  { path: "shell", lazy: async () => ({ Component: (await import("./routes/admin-settings.tsx")).ShellSettings }) },
                  { path: "system", lazy: async () => ({ Component: (await import("./routes/admin-settings.tsx")).SystemSettings }) },
                  { path: "about", lazy: async () => ({ Component: (await import("./routes/admin-settings.tsx")).AboutSettings }) },
                ],
              },
            ],
          },
          { path: "*", loader: () => Promise.reject(new Response("Not Found", { status: 404, statusText: "Not Found" })) },
        ],
      },
    ],
  },
]);
