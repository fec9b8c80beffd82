from models.tables import (  # noqa: F401
    LIST_TABLES,
    ChatMessage,
    Conversation,
    Effect,
    Identity,
    Indicator,
    Intervention,
    Organisation,
    Person,
    ProcessedEvent,
    Report,
)
