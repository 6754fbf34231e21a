/** The app frame: navigation, the unreachable-server banner, then the page. */
import { NavLink, Outlet, useNavigate } from "react-router-dom";
import { clearToken } from "../auth/token";
import { ServerBanner } from "./ServerBanner";

export function Layout() {
  const navigate = useNavigate();
  return (
    <div className="app">
      <header className="topbar">
        <span className="brand">Weft Studio</span>
        <nav aria-label="Main">
          <NavLink to="/workflows">Workflows</NavLink>
          <NavLink to="/executions">Executions</NavLink>
          <NavLink to="/tools">Tools</NavLink>
          <NavLink to="/templates">Templates</NavLink>
          <a href="/graphql">GraphiQL</a>
        </nav>
        <button
          type="button"
          className="link"
          onClick={() => {
            clearToken();
            navigate("/signin");
          }}
        >
          Sign out
        </button>
      </header>
      <ServerBanner />
      <Outlet />
    </div>
  );
}
