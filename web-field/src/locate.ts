/** The phone's position, kept current with watchPosition; listeners hear every fix and every problem. */
export interface Fix {
  lat: number;
  lon: number;
  accuracy: number;
  /** ms since epoch of the fix */
  at: number;
  heading: number | null;
}

export type LocProblem = 'denied' | 'unavailable' | 'insecure' | 'unsupported' | null;

type Listener = (fix: Fix | null, problem: LocProblem) => void;

let last: Fix | null = null;
let problem: LocProblem = null;
let watching = false;
const listeners = new Set<Listener>();

export const lastFix = () => last;

/** A fix recent enough to stamp a photo or a finding with (2 minutes). */
export const freshFix = (maxAgeMs = 120_000) => (last && Date.now() - last.at <= maxAgeMs ? last : null);

export function onPosition(fn: Listener): () => void {
  listeners.add(fn);
  fn(last, problem);
  start();
  return () => listeners.delete(fn);
}

function emit() {
  for (const fn of listeners) fn(last, problem);
}

function start() {
  if (watching) return;
  watching = true;
  if (!('geolocation' in navigator)) {
    problem = window.isSecureContext ? 'unsupported' : 'insecure';
    emit();
    return;
  }
  navigator.geolocation.watchPosition(
    (p) => {
      last = {
        lat: p.coords.latitude,
        lon: p.coords.longitude,
        accuracy: p.coords.accuracy,
        at: p.timestamp || Date.now(),
        heading: p.coords.heading ?? null,
      };
      problem = null;
      emit();
    },
    (e) => {
      problem = !window.isSecureContext ? 'insecure' : e.code === e.PERMISSION_DENIED ? 'denied' : 'unavailable';
      emit();
    },
    { enableHighAccuracy: true, maximumAge: 5000, timeout: 30_000 },
  );
}
