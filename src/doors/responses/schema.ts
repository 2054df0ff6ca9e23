import { z } from 'zod';

/**
 * An OpenAI Responses request (`POST /v1/responses`), as far as the proxy reads it. Validated where the
 * proxy relies on a field's shape (so a mistake is a 400 naming it); every other field is kept
 * (`z.looseObject`): on the native path the body goes to OpenAI as it came, elsewhere unknown top-level
 * fields go on to the upstream as extensions (`top_k`, `seed`, …), as on the chat door.
 */

const status = z.enum(['in_progress', 'completed', 'incomplete']);

export const InputTextPart = z.looseObject({ type: z.literal('input_text'), text: z.string() });
export const OutputTextPart = z.looseObject({ type: z.literal('output_text'), text: z.string() });
export const RefusalPart = z.looseObject({ type: z.literal('refusal'), refusal: z.string() });
export const InputImagePart = z.looseObject({
  type: z.literal('input_image'),
  image_url: z.string().nullable().optional(),
  file_id: z.string().nullable().optional(),
  detail: z.string().optional(),
});

/** A content part: the kinds the proxy translates are checked by items.ts; others are kept for OpenAI. */
export const ContentPart = z.looseObject({ type: z.string() });

export const MessageItem = z.looseObject({
  type: z.literal('message').optional(),
  id: z.string().optional(),
  role: z.enum(['user', 'assistant', 'system', 'developer']),
  content: z.union([z.string(), z.array(ContentPart)]),
  /** On the final assistant message: `in_progress` asks for it to be continued, `completed` says it is done. */
  status: status.optional(),
});

export const FunctionCallItem = z.looseObject({
  type: z.literal('function_call'),
  id: z.string().optional(),
  call_id: z.string().min(1),
  name: z.string().min(1),
  arguments: z.string(),
  status: status.optional(),
});

export const FunctionCallOutputItem = z.looseObject({
  type: z.literal('function_call_output'),
  id: z.string().nullable().optional(),
  call_id: z.string().min(1),
  output: z.union([z.string(), z.array(ContentPart)]),
  status: status.nullable().optional(),
});

export const ReasoningItem = z.looseObject({
  type: z.literal('reasoning'),
  id: z.string().optional(),
  summary: z.array(z.looseObject({ type: z.literal('summary_text'), text: z.string() })).optional(),
  content: z.array(z.looseObject({ type: z.literal('reasoning_text'), text: z.string() })).nullable().optional(),
  encrypted_content: z.string().nullable().optional(),
  /** On a final reasoning item: as on a final assistant message. */
  status: status.optional(),
});

export const FunctionTool = z.looseObject({
  type: z.literal('function'),
  name: z.string().min(1),
  description: z.string().nullable().optional(),
  parameters: z.record(z.string(), z.unknown()).nullable().optional(),
  strict: z.boolean().nullable().optional(),
});

const TextFormat = z.discriminatedUnion('type', [
  z.looseObject({ type: z.literal('text') }),
  z.looseObject({ type: z.literal('json_object') }),
  z.looseObject({
    type: z.literal('json_schema'),
    name: z.string().min(1),
    schema: z.record(z.string(), z.unknown()),
    description: z.string().optional(),
    strict: z.boolean().nullable().optional(),
  }),
]);

export const REASONING_EFFORTS = ['none', 'minimal', 'low', 'medium', 'high', 'xhigh', 'max'] as const;

export const ResponsesRequest = z.looseObject({
  model: z.string().min(1).optional(),
  /** Checked item by item by request.ts, so that an error names `input[3].content[0].text`. */
  input: z.union([z.string(), z.array(z.looseObject({ type: z.string().nullable().optional() }))]).optional(),
  instructions: z.string().nullable().optional(),
  max_output_tokens: z.number().int().min(1).nullable().optional(),
  temperature: z.number().min(0).max(2).nullable().optional(),
  top_p: z.number().min(0).max(1).nullable().optional(),
  stream: z.boolean().nullable().optional(),
  tools: z.array(z.looseObject({ type: z.string() })).nullable().optional(),
  tool_choice: z.union([z.enum(['none', 'auto', 'required']), z.looseObject({ type: z.string() })]).nullable().optional(),
  parallel_tool_calls: z.boolean().nullable().optional(),
  reasoning: z
    .looseObject({
      effort: z.enum(REASONING_EFFORTS).nullable().optional(),
      summary: z.enum(['auto', 'concise', 'detailed']).nullable().optional(),
    })
    .nullable()
    .optional(),
  text: z.looseObject({ format: TextFormat.optional(), verbosity: z.enum(['low', 'medium', 'high']).nullable().optional() }).nullable().optional(),
  store: z.boolean().nullable().optional(),
  previous_response_id: z.string().nullable().optional(),
  include: z.array(z.string()).nullable().optional(),
  metadata: z.record(z.string(), z.string()).nullable().optional(),
  user: z.string().optional(),
  /** The proxy's own: the prefixes in front of the continuation, and the thinking budget (as on chat). */
  echo: z.boolean().nullable().optional(),
  reasoning_budget_tokens: z.number().int().min(0).nullable().optional(),
});

export type ResponsesRequest = z.infer<typeof ResponsesRequest>;
export type FunctionTool = z.infer<typeof FunctionTool>;
