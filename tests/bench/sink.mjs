// Where every listener of every case writes. The runners read it back after the run (and report
// `sink.n`), so no engine can prove a listener's work dead and drop the emit.

/** `n` counts deliveries (the harness test checks it); the other fields fold in the payloads. */
export const sink = {
  n: 0,
  acc: 0,
  audit: 0,
  last: 0,
  total: 0,
  max: 0,
  odd: 0,
  hash: 0,
  buckets: new Array(16).fill(0),
  even: 0,
  logged: 0,
};
