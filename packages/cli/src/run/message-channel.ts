import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import { type MessageShapes, parseMessage } from './keeper-protocol.ts';

export interface ChannelHandlers<In> {
  onMessage(message: In): void;
  /** A line that is not a message of the protocol: the other side is broken. */
  onInvalid(line: string): void;
  /** The other side closed its end or went away (its process died). Called once. */
  onClose(): void;
}

/**
 * One side of the keeper's channel: JSON lines in on one pipe, out on another. Two one-way pipes
 * rather than one socket both ways: a write to a peer that has gone fails with EPIPE, and Node then
 * destroys the socket with whatever the peer said last still unread — its final report.
 */
export class MessageChannel<In extends { type: string }, Out extends { type: string }> {
  readonly #output: Writable;
  #outputOpen = true;
  #inputOpen = true;

  constructor(input: Readable, output: Writable, shapes: MessageShapes, handlers: ChannelHandlers<In>) {
    this.#output = output;
    // The peer is gone; its end of our input closes too, and that is how we learn of it.
    output.on('error', () => {
      this.#outputOpen = false;
    });
    const closed = () => {
      if (!this.#inputOpen) return;
      this.#inputOpen = false;
      handlers.onClose();
    };
    input.on('error', closed);
    const lines = createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY });
    lines.on('error', closed);
    lines.on('close', closed);
    lines.on('line', (line) => {
      const message = parseMessage<In>(line, shapes);
      if (message) handlers.onMessage(message);
      else handlers.onInvalid(line);
    });
  }

  /** Whether the peer's end is still open (it has not closed it or died). */
  get open(): boolean {
    return this.#inputOpen;
  }

  send(message: Out): void {
    if (this.#outputOpen && this.#output.writable) this.#output.write(`${JSON.stringify(message)}\n`);
  }

  /** Ends our output once what was sent has been handed to the system; `then` runs when it has. */
  close(then?: () => void): void {
    this.#outputOpen = false;
    if (this.#output.writable) this.#output.end(then);
    else then?.();
  }
}
