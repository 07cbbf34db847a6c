// Structured logs: one JSON object per line on stderr (journald and kubectl logs keep them as they are).

export type LogLevel = 'info' | 'warn' | 'error';
export type LogSink = (level: LogLevel, event: string, fields?: Record<string, unknown>) => void;

export const stderrLog: LogSink = (level, event, fields = {}) => {
  process.stderr.write(`${JSON.stringify({ ts: new Date().toISOString(), level, event, ...fields })}\n`);
};

export const silentLog: LogSink = () => {};
