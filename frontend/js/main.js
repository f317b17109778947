// Router: maps History API paths to view modules and gives each view a small context.
// Page routes never use /account or /oauth/ (the Heroku-compatible API owns those).
import { ApiError, errorText, onSessionEnded } from './api.js';
import { h, link } from './dom.js';
import * as home from './views/home.js';
import * as signup from './views/signup.js';
import * as login from './views/login.js';
import * as account from './views/account.js';
import * as enable from './views/enable.js';
import * as security from './views/security.js';

const routes = {
  '/': home,
  '/signup': signup,
  '/login': login,
  '/settings': account,
  '/settings/two-factor': enable,
  '/settings/security': security,
};

const notFound = {
  title: 'Page not found',
  render(root) {
    root.append(h('p', {}, 'There is no page here. ', link('/', 'Go to twostep'), '.'));
  },
};

const title = document.getElementById('title');
const notice = document.getElementById('notice');
const viewRoot = document.getElementById('view');
let current = 0; // generation of the view on screen; stale views cannot write
let currentView = null;
let leaving = []; // what the view on screen asked to run when it is replaced

function currentPath() {
  const path = location.pathname.replace(/\/+$/, '');
  return path || '/';
}

/** Go to `path`; `message` is shown on the new page (e.g. why the person was sent there). */
export function navigate(path, { replace = false, message = '', kind = 'info' } = {}) {
  if (replace) history.replaceState(null, '', path);
  else history.pushState(null, '', path);
  render({ message, kind, focus: true });
}

function say(text, kind = 'info') {
  notice.textContent = text;
  notice.className = text ? `notice ${kind}` : 'notice';
}

function setTitle(text) {
  title.textContent = text;
  document.title = text === 'twostep' ? text : `${text} · twostep`;
}

function render({ message = '', kind = 'info', focus = false } = {}) {
  const generation = ++current;
  for (const fn of leaving.splice(0)) fn();
  const view = routes[currentPath()] || notFound;
  currentView = view;
  const live = () => generation === current;
  const ctx = {
    navigate,
    live,
    say: (text, k) => live() && say(text, k),
    fail: (err) => {
      if (!live() || (err && err.handled)) return;
      if (!(err instanceof ApiError)) console.error(err);
      say(errorText(err), 'error');
    },
    setTitle: (text) => live() && setTitle(text),
    onLeave: (fn) => { if (live()) leaving.push(fn); else fn(); },
  };
  setTitle(view.title);
  say(message, kind);
  viewRoot.replaceChildren();
  if (focus) title.focus();
  view.render(viewRoot, ctx);
}

onSessionEnded((err) => {
  if (!currentView || !currentView.requiresSession) return false;
  const why = err.code === 'session_revoked'
    ? ' It was ended elsewhere: for example two-factor authentication was turned on, or the session was revoked.' : '';
  navigate('/login', { replace: true, message: `Your session has ended. Please log in again.${why}` });
  return true;
});

document.addEventListener('click', (event) => {
  const a = event.target.closest('a[href]');
  if (!a || a.target || a.hasAttribute('download') || event.defaultPrevented) return;
  if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  const url = new URL(a.href);
  if (url.origin !== location.origin || url.pathname.startsWith('/api/')) return;
  event.preventDefault();
  if (url.pathname !== location.pathname) navigate(url.pathname);
});

window.addEventListener('popstate', () => render({ focus: true }));
window.addEventListener('pagehide', () => { for (const fn of leaving.splice(0)) fn(); });

render();
