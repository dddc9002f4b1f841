// The comment check's public face for the research scripts (scripts/evidence), which measure it: the grounded score,
// its verdicts and the self-check's measure. The engine's face (engine/api.ts) cannot carry these: the check is above it.
export { combineSupport, groundedSupport, manPageText, type Grounding } from "./grounded";
export { judgeSupport } from "./calibration";
export { liftOf, rocAuc } from "./selfCheck";
export { SELF_CHECK_PAIRS } from "./selfCheckPairs";
