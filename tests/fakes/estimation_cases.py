"""Prompts with their exact prompt_tokens, for tests/pricing/test_estimation_accuracy.py (issue 15).

Each case: (id, request body, exact prompt_tokens or None, source). An int is a count the OpenAI API
reported for that very request, as published at `source`. None means no published API count was
found for it: the test derives the count as OpenAI documents it (cookbook message framing and tool
formula, the images guide's tile formula, the model's own encoding) — those cases check that the
estimator follows the documents on varied input (non-English, emoji, code, tools, images), not the
documents themselves. `ROUGH` cases are counted with an encoding that is not the model's own, or hold
an image of unknown size: no exact count exists offline and the estimate must say "rough".
"""

from __future__ import annotations

import base64
import struct

COOKBOOK = "https://github.com/openai/openai-cookbook/blob/main/examples/How_to_count_tokens_with_tiktoken.ipynb"
# the notebook's earlier revision printed the API's counts for the 2023 snapshots
COOKBOOK_2023 = ("https://github.com/openai/openai-cookbook/blob/"
                 "06d9feb5e21e6fdc85f3ddce7731e05892758cd7/examples/How_to_count_tokens_with_tiktoken.ipynb")
DERIVED = "derived as documented (cookbook framing, images guide), model's own encoding"

# the cookbook §6 "example_messages"
JARGON = [
    {"role": "system", "content": "You are a helpful, pattern-following assistant that translates corporate "
                                  "jargon into plain English."},
    {"role": "system", "name": "example_user", "content": "New synergies will help drive top-line growth."},
    {"role": "system", "name": "example_assistant", "content": "Things working well together will increase revenue."},
    {"role": "system", "name": "example_user", "content": "Let's circle back when we have more bandwidth to touch "
                                                          "base on opportunities for increased leverage."},
    {"role": "system", "name": "example_assistant", "content": "Let's talk later when we're less busy about how to "
                                                               "do better."},
    {"role": "user", "content": "This late pivot means we don't have time to boil the ocean for the client "
                                "deliverable."},
]
# the cookbook §7 tool example
WEATHER_TOOLS = [{"type": "function", "function": {
    "name": "get_current_weather",
    "description": "Get the current weather in a given location",
    "parameters": {"type": "object", "properties": {
        "location": {"type": "string", "description": "The city and state, e.g. San Francisco, CA"},
        "unit": {"type": "string", "description": "The unit of temperature to return",
                 "enum": ["celsius", "fahrenheit"]}},
        "required": ["location"]}}}]
WEATHER_MESSAGES = [
    {"role": "system", "content": "You are a helpful assistant that can answer to questions about the weather."},
    {"role": "user", "content": "What's the weather like in San Francisco?"},
]

TEXTS = {
    "chinese": "请用三句话解释量子计算的基本原理，并举一个实际应用的例子。",
    "japanese": "お誕生日おめでとう！今日は素晴らしい一日になりますように。",
    "korean": "서울에서 부산까지 기차로 얼마나 걸리나요? 가장 빠른 열차를 알려주세요.",
    "arabic": "ما هي أفضل طريقة لتعلم البرمجة بلغة بايثون للمبتدئين؟",
    "hebrew": "מה מזג האוויר היום בתל אביב?",
    "hindi": "कृपया मुझे भारत की राजधानी के बारे में बताइए।",
    "russian": "Объясни, пожалуйста, разницу между процессом и потоком в операционной системе.",
    "emoji": "🎉🎂 Happy birthday! 🥳🎈 Let's party 💃🕺 tonight 🌙✨",
    "emoji_only": "😀😃😄😁😆😅😂🤣🥲☺️😊😇🙂🙃😉😌😍🥰😘",
    "python": "def fib(n: int) -> int:\n    a, b = 0, 1\n    for _ in range(n):\n"
              "        a, b = b, a + b\n    return a\n",
    "json": '{"id": 42, "tags": ["alpha", "beta"], "nested": {"ok": true, "ratio": 0.75}}',
    "sql": "SELECT u.id, count(o.id) AS orders FROM users u LEFT JOIN orders o ON o.user_id = u.id "
           "GROUP BY u.id HAVING count(o.id) > 3 ORDER BY orders DESC;",
    "mixed": "Translate 'good morning' into 中文, العربية and 日本語, then add an emoji 🌞.",
    "long_english": " ".join(["The quick brown fox jumps over the lazy dog."] * 40),
}


def _png(width: int, height: int) -> str:
    """A data URL whose PNG header gives the size (the estimator reads only the header)."""
    header = b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + b"IHDR" + struct.pack(">II", width, height)
    return "data:image/png;base64," + base64.b64encode(header + b"\x08\x02\x00\x00\x00" + b"\0" * 32).decode()


def _chat(model: str, messages: list, **extra) -> dict:
    return {"model": model, "messages": messages, **extra}


def _user(text: str) -> list:
    return [{"role": "user", "content": text}]


def _image_message(text: str, url: str, detail: str | None = None) -> list:
    image = {"url": url, **({"detail": detail} if detail else {})}
    return [{"role": "user", "content": [{"type": "text", "text": text}, {"type": "image_url", "image_url": image}]}]


TRANSLATE_TOOLS = [
    {"type": "function", "function": {
        "name": "translate", "description": "Translate text into another language.",
        "parameters": {"type": "object", "properties": {
            "text": {"type": "string", "description": "The text to translate"},
            "target": {"type": "string", "description": "The language to translate into",
                       "enum": ["en", "zh", "ar", "ja", "ko"]}}, "required": ["text", "target"]}}},
    {"type": "function", "function": {
        "name": "detect_language", "description": "Detect the language of a text",
        "parameters": {"type": "object", "properties": {
            "text": {"type": "string", "description": "The text to inspect."}}}}},
]

CASES: list[tuple[str, dict, int | None, str]] = [
    # --- counts the OpenAI API reported (published) ------------------------------------------
    *[(f"cookbook-messages-{m}", _chat(m, JARGON), n, COOKBOOK)
      for m, n in [("gpt-3.5-turbo", 129), ("gpt-4-0613", 129), ("gpt-4", 129), ("gpt-4o", 124), ("gpt-4o-mini", 124)]],
    *[(f"cookbook-2023-messages-{m}", _chat(m, JARGON), n, COOKBOOK_2023)
      for m, n in [("gpt-3.5-turbo-0301", 127), ("gpt-3.5-turbo-0613", 129), ("gpt-4-0314", 129)]],
    *[(f"cookbook-tools-{m}", _chat(m, WEATHER_MESSAGES, tools=WEATHER_TOOLS), n, COOKBOOK)
      for m, n in [("gpt-3.5-turbo", 105), ("gpt-4", 105), ("gpt-4o", 101), ("gpt-4o-mini", 101)]],
    # --- derived as documented ----------------------------------------------------------------
    *[(f"{lang}-{m}", _chat(m, [{"role": "system", "content": "You are a helpful assistant."}, *_user(text)]),
       None, DERIVED)
      for lang, text in TEXTS.items() for m in ("gpt-4o", "gpt-4")],
    ("names-and-assistant-gpt-4.1", _chat("gpt-4.1", [
        {"role": "user", "name": "alice", "content": TEXTS["chinese"]},
        {"role": "assistant", "content": "量子计算利用量子比特的叠加态。"},
        {"role": "user", "name": "alice", "content": TEXTS["arabic"]}]), None, DERIVED),
    ("tools-two-functions-gpt-4o", _chat("gpt-4o", _user(TEXTS["korean"]), tools=TRANSLATE_TOOLS), None, DERIVED),
    ("tools-two-functions-gpt-4", _chat("gpt-4", _user(TEXTS["korean"]), tools=TRANSLATE_TOOLS), None, DERIVED),
    ("tools-weather-gpt-4.1-mini", _chat("gpt-4.1-mini", WEATHER_MESSAGES, tools=WEATHER_TOOLS), None, DERIVED),
    ("tools-weather-o3-mini", _chat("o3-mini", WEATHER_MESSAGES, tools=WEATHER_TOOLS), None, DERIVED),
    ("tools-emoji-gpt-4o-mini", _chat("gpt-4o-mini", _user(TEXTS["emoji"]), tools=TRANSLATE_TOOLS), None, DERIVED),
    ("image-1024-high-gpt-4o", _chat("gpt-4o", _image_message("What's in this image?", _png(1024, 1024), "high")),
     None, DERIVED),
    ("image-2048x4096-high-gpt-4o", _chat("gpt-4o", _image_message("Describe it.", _png(2048, 4096), "high")),
     None, DERIVED),
    ("image-low-gpt-4o", _chat("gpt-4o", _image_message("Describe it.", _png(4096, 8192), "low")), None, DERIVED),
    ("image-auto-gpt-4.1", _chat("gpt-4.1", _image_message(TEXTS["japanese"], _png(800, 600))), None, DERIVED),
    ("image-high-gpt-4o-mini", _chat("gpt-4o-mini", _image_message("这是什么？", _png(512, 512), "high")),
     None, DERIVED),
    ("image-low-gpt-4o-mini", _chat("gpt-4o-mini", _image_message("What is this?", _png(1920, 1080), "low")),
     None, DERIVED),
    ("image-patches-gpt-4.1-mini", _chat("gpt-4.1-mini", _image_message("Read the text.", _png(1800, 2400))),
     None, DERIVED),
    ("image-o1", _chat("o1", _image_message("Solve the puzzle.", _png(1024, 768), "high")), None, DERIVED),
]

# counted with a stand-in encoding, or holding an image of unknown size: must be marked rough
ROUGH: list[tuple[str, dict]] = [
    ("claude-chinese", {"model": "claude-sonnet-4-5", "max_tokens": 10, "messages": _user(TEXTS["chinese"])}),
    ("claude-tools", {"model": "claude-sonnet-4-5", "max_tokens": 10, "messages": _user("Weather in Paris?"),
                      "tools": [{"name": "get_weather", "description": "Weather for a city",
                                 "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}}}]}),
    ("gemini-arabic", _chat("gemini-2.5-flash", _user(TEXTS["arabic"]))),
    ("llama-code", _chat("meta-llama/Llama-3.3-70B-Instruct", _user(TEXTS["python"]))),
    ("gpt-4o-image-url", _chat("gpt-4o", _image_message(
        "What's in this image?", "https://upload.wikimedia.org/wikipedia/commons/d/dd/boardwalk.jpg"))),
]
