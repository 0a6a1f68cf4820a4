// One streamed call with the official Node `openai` package against Parley's /v1: a response
// streamed as events. Prints what it saw as JSON for tests/e2e/test_openai_node.py to check.
import OpenAI from "openai";

const client = new OpenAI({ baseURL: process.env.PARLEY_V1_URL, apiKey: process.env.PARLEY_KEY, maxRetries: 0 });
const stream = await client.responses.create({ model: "parley-demo", input: process.argv[2], stream: true });
const seen = { types: [], text: "", numbers: [] };
for await (const event of stream) {
  seen.types.push(event.type);
  seen.numbers.push(event.sequence_number);
  if (event.type === "response.output_text.delta") seen.text += event.delta;
  if (event.type === "response.completed") seen.final = event.response.output_text ?? event.response.output[0].content[0].text;
}
console.log(JSON.stringify(seen));
