/**
 * The lines of a stream as they arrive (a child process's stdout, say), without the newline; a last
 * line without one is yielded when the stream ends. Empty lines are skipped.
 */
export async function* linesOf(stream: AsyncIterable<Buffer | string>): AsyncIterable<string> {
  let buffered = '';
  for await (const chunk of stream) {
    buffered += chunk.toString();
    const lines = buffered.split('\n');
    buffered = lines.pop() ?? '';
    yield* lines.filter((line) => line.length > 0);
  }
  if (buffered) yield buffered;
}
