"""Request bodies of the OpenAI-compatible API (docs/DESIGN.md §12), as the official SDKs send
them. Fields Parley does not use (`n`, `logprobs`, tools, ...) are ignored, as many
OpenAI-compatible servers do; text is all a message may hold."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from kit.schemas import Input

MAX_MESSAGES = 500


class TextPart(BaseModel):
    type: Literal["text"]
    text: str


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="ignore")

    role: Literal["system", "developer", "user", "assistant"]
    content: str | list[TextPart] | None = None
    name: Annotated[str, Field(max_length=64)] | None = None

    def text(self) -> str:
        if self.content is None:
            return ""
        if isinstance(self.content, str):
            return self.content
        return "".join(part.text for part in self.content)

    def for_provider(self) -> dict[str, Any]:
        """As a provider receives it: `developer` is the newer name of `system`."""
        message: dict[str, Any] = {
            "role": "system" if self.role == "developer" else self.role,
            "content": self.text(),
        }
        if self.name:
            message["name"] = self.name
        return message


class StreamOptions(BaseModel):
    model_config = ConfigDict(extra="ignore")

    include_usage: bool = False


class ChatCompletionIn(Input):
    model_config = ConfigDict(extra="ignore")

    model: Annotated[str, Field(min_length=1, max_length=200)]
    messages: Annotated[list[ChatMessage], Field(min_length=1, max_length=MAX_MESSAGES)]
    stream: bool = False
    stream_options: StreamOptions | None = None
    temperature: Annotated[float, Field(ge=0, le=2)] | None = None


# `/v1/responses` and `/v1/conversations` (docs/DESIGN.md §12)

MAX_INPUT_ITEMS = 500
MAX_TEXT_CHARS = 200_000
MetadataKey = Annotated[str, Field(min_length=1, max_length=64)]
MetadataValue = Annotated[str, Field(max_length=512)]
Metadata = Annotated[dict[MetadataKey, MetadataValue], Field(max_length=16)]


class ContentPart(BaseModel):
    """A text part of an input item (`input_text`, or `output_text` in an assistant's)."""

    model_config = ConfigDict(extra="ignore")

    type: Literal["input_text", "output_text", "text"]
    text: Annotated[str, Field(max_length=MAX_TEXT_CHARS)]


def _parts(value: Any) -> Any:
    """Text given as a string is one part: one shape to validate, so a bad part (an image) is
    named by its place (`input.0.content.0.type`) rather than by every shape it missed."""
    return [{"type": "input_text", "text": value}] if isinstance(value, str) else value


def _items(value: Any) -> Any:
    return [{"role": "user", "content": value}] if isinstance(value, str) else value


class InputMessage(BaseModel):
    """An input item: a message, as OpenAI's SDKs send it (`type` may be left out)."""

    model_config = ConfigDict(extra="ignore")

    type: Literal["message"] = "message"
    role: Literal["system", "developer", "user", "assistant"]
    content: Annotated[
        list[ContentPart],
        BeforeValidator(_parts, json_schema_input_type=str | list[ContentPart]),
        Field(max_length=MAX_INPUT_ITEMS),
    ]

    def text(self) -> str:
        return "".join(part.text for part in self.content)

    def for_provider(self) -> dict[str, str]:
        role = "system" if self.role == "developer" else self.role
        return {"role": role, "content": self.text()}


InputItems = Annotated[
    list[InputMessage],
    BeforeValidator(_items, json_schema_input_type=str | list[InputMessage]),
    Field(min_length=1, max_length=MAX_INPUT_ITEMS),
]


class ConversationRef(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: Annotated[str, Field(min_length=1, max_length=100)]


class ResponseCreate(Input):
    model_config = ConfigDict(extra="ignore")

    model: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    input: InputItems
    instructions: Annotated[str, Field(max_length=MAX_TEXT_CHARS)] | None = None
    stream: bool = False
    background: bool = False
    previous_response_id: Annotated[str, Field(max_length=100)] | None = None
    conversation: Annotated[str, Field(min_length=1, max_length=100)] | ConversationRef | None = (
        None
    )
    metadata: Metadata | None = None
    temperature: Annotated[float, Field(ge=0, le=2)] | None = None

    def conversation_id(self) -> str | None:
        if isinstance(self.conversation, ConversationRef):
            return self.conversation.id
        return self.conversation


class ConversationCreate(Input):
    model_config = ConfigDict(extra="ignore")

    items: Annotated[list[InputMessage], Field(max_length=MAX_INPUT_ITEMS)] | None = None
    metadata: Metadata | None = None


class ConversationUpdate(Input):
    model_config = ConfigDict(extra="ignore")

    metadata: Metadata
