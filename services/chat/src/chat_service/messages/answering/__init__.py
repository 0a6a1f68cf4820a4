"""The plumbing of an answer in chat: the job queue (`queue`), the Redis stream of tokens
(`stream`, the contract is `kit.answers`), the one reader that waits on every open stream
(`hub`) and the Server-Sent Events endpoint (`sse`). The life of an answer is
`chat_service.messages.generation`."""
