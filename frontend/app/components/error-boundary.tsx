import { isRouteErrorResponse, Link, useRouteError } from "react-router";
import { ApiError } from "../lib/api-client.ts";
import { Button, buttonClass } from "./ui/button.tsx";

/** Route error element: "Page not found" for 404s, the message otherwise, with Reload / Go home. */
export function RouteErrorBoundary() {
  const error = useRouteError();
  const notFound = (isRouteErrorResponse(error) && error.status === 404) || (error instanceof ApiError && error.status === 404);
  const message = notFound
    ? "The page you are looking for does not exist."
    : isRouteErrorResponse(error)
      ? error.statusText
      : error instanceof Error
        ? error.message
        : "Unexpected error.";
  return (
    <div className="flex h-full flex-col items-center justify-center gap-4 p-8 text-center">
      <h1 className="text-2xl font-semibold">{notFound ? "Page not found" : "Something went wrong"}</h1>
      <p className="max-w-md text-sm text-muted-foreground">{message}</p>
      <div className="flex gap-2">
        <Button variant="outline" onClick={() => window.location.reload()}>
          Reload
        </Button>
        <Link to="/" className={buttonClass()}>
          Go home
        </Link>
      </div>
    </div>
  );
}
