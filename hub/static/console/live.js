// The live feed, /ws/console: ids of what changed; the console refetches through the REST API.

const MAX_BACKOFF_MS = 15_000;

export class LiveFeed {
  constructor(onEvents, onState) {
    this.onEvents = onEvents;
    this.onState = onState;
    this.socket = null;
    this.backoff = 500;
    this.stopped = true;
    this.timer = null;
  }

  start() {
    this.stopped = false;
    this.connect();
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
    this.socket?.close();
    this.socket = null;
  }

  connect() {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const socket = new WebSocket(`${scheme}://${location.host}/ws/console`);
    socket.binaryType = "arraybuffer";
    this.socket = socket;
    socket.addEventListener("message", (event) => this.receive(event.data));
    socket.addEventListener("close", () => {
      this.onState(false);
      if (this.stopped || this.socket !== socket) return;
      this.timer = setTimeout(() => this.connect(), this.backoff);
      this.backoff = Math.min(this.backoff * 2, MAX_BACKOFF_MS);
    });
  }

  receive(data) {
    const text = typeof data === "string" ? data : new TextDecoder().decode(data);
    let frame;
    try {
      frame = JSON.parse(text);
    } catch {
      return;
    }
    if (frame.type === "hello") {
      this.backoff = 500;
      this.onState(true);
      // Anything that happened while we were away: refetch everything once.
      this.onEvents([]);
    } else if (frame.type === "events" && Array.isArray(frame.events)) {
      this.onEvents(frame.events);
    }
  }
}
