// A score of how well a command and a task agree: computed by the engine's scorers, shown by the editor's hovers.
// Declared here, in common/, so the protocol can carry it without importing the engine.

export interface ScoreResult {
  scorer: string;
  /** In [0, 1]; the number selection compares with the threshold. */
  value: number;
  /** The named parts the value was computed from. */
  parts: Record<string, number>;
  /** One human sentence on how `value` came about. */
  explanation: string;
}
