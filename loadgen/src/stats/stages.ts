// Latency stages recorded per worker, all in µs. One histogram per stage; see DESIGN §4.
export const STAGES = [
  'scheduleLag', // send() call − intended send (generator health)
  'outboxWait', // actual send − send() call: a new peer's keys, in-flight window, encryption
  'ack', // ✓ received − intended send
  'e2eCorrected', // delivered − intended send (coordinated-omission-free)
  'e2eUncorrected', // delivered − actual send
  'deliveredReceipt', // ✓✓ back at sender − intended send
  'readReceipt', // read receipt back at sender − intended send
  'storeForward', // delivered − intended send, for messages held while the recipient was offline
  'hopClientToGateway', // actual send (frame handed to the socket) → sender's gateway receive
  'hopGatewayToProduce', // relay stamps: gateway receive → Kafka produce acked
  'hopProduceToRouter', // produce → router consume
  'hopRouterToGateway', // router → recipient's gateway
  'hopGatewayToClient', // recipient gateway send → client receive
  'inboxWait', // decrypted − client receive: decryption (and a new sender's keys if not announced)
] as const;
export type Stage = (typeof STAGES)[number];
/** The relay-path hops, in path order (sender's socket → recipient's socket). */
export type HopStage = Extract<Stage, `hop${string}`>;
export const HOP_STAGES = STAGES.filter((s): s is HopStage => s.startsWith('hop'));

/** Histogram range shared by every stage so that histograms always add: 1 µs … 1 h, 3 digits. */
export const HISTOGRAM_RANGE = {
  lowestDiscernibleValueUs: 1,
  highestTrackableValueUs: 3_600_000_000,
  significantDigits: 3,
} as const;
