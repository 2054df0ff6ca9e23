import type { Door } from '../../pipeline/types.js';
import { anthropicErrorBody } from './errors.js';
import { encodeMessage } from './message.js';
import { MessagesStreamEncoder } from './stream.js';

/**
 * The Messages door's wire format: answers as Anthropic's Message (message.ts), streams as its named
 * events (stream.ts), errors in its shape (errors.ts). An Anthropic upstream's answers are this format
 * already: when nothing needs rewriting they pass untouched.
 */
export const messagesDoor: Door = {
  id: 'messages',
  wire: 'anthropic-messages',
  encodeAnswer: (answer, prepared) => encodeMessage(answer, prepared.chat.model),
  streamEncoder: (prepared) => new MessagesStreamEncoder(prepared.chat.model),
  errorBody: (error) => anthropicErrorBody(error),
};
