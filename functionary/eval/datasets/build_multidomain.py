#!/usr/bin/env python
"""Build (and check) functionary/eval/datasets/multidomain.jsonl.

A hand-written, multi-domain function-calling evaluation set in the eval_spec JSONL format:
12 domains, each with its own toolset, and every category (simple, multiple, parallel,
parallel_multiple, irrelevance, multi_turn, missing_argument) in every domain.

    .venv/bin/python functionary/eval/datasets/build_multidomain.py          # build + check
    .venv/bin/python functionary/eval/datasets/build_multidomain.py --check  # check the file only

The output is deterministic (same input, same bytes). Conventions used below:

- `C(name, arg=value, ...)` is an expected call. A tuple value lists alternatives
  (`city=("Paris", "Paris, France")`); anything else is the one acceptable value (a list
  value is one acceptable array). `_opt=[...]` marks arguments that may be left out.
- Arguments whose schema has a `default` and that the case does not list are added to
  `optional` automatically (the user did not ask for them: any value goes); so are listed
  ones whose acceptable values include the default (leaving them out means the same).
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import unicodedata
from collections import Counter, defaultdict
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT = HERE / "multidomain.jsonl"

CATEGORIES = ["simple", "multiple", "parallel", "parallel_multiple", "irrelevance", "multi_turn", "missing_argument"]

# --------------------------------------------------------------------------- schema helpers


def fn(name, description, properties, required=()):
    return {"type": "function", "function": {"name": name, "description": description, "parameters": {
        "type": "object", "properties": properties, "required": list(required)}}}


def s(desc, **kw):
    return {"type": "string", "description": desc, **kw}


def enum(desc, values, **kw):
    return {"type": "string", "enum": list(values), "description": desc, **kw}


def integer(desc, **kw):
    return {"type": "integer", "description": desc, **kw}


def number(desc, **kw):
    return {"type": "number", "description": desc, **kw}


def boolean(desc, **kw):
    return {"type": "boolean", "description": desc, **kw}


def array(desc, items, **kw):
    return {"type": "array", "description": desc, "items": items, **kw}


def obj(desc, props, required=(), **kw):
    return {"type": "object", "description": desc, "properties": props, "required": list(required),
            "additionalProperties": False, **kw}


def enum_items(values):
    return {"type": "string", "enum": list(values)}


# --------------------------------------------------------------------------- case helpers


def C(_name, _opt=(), **args):
    """An expected call; tuple values are alternatives."""
    return {"name": _name,
            "arguments": {k: list(v) if isinstance(v, tuple) else [v] for k, v in args.items()},
            "optional": list(_opt)}


def perms(items):
    """Every order of a list, as alternatives (for arrays whose order does not matter)."""
    return tuple(list(p) for p in itertools.permutations(items))


def calls(*expected):
    return {"kind": "calls", "calls": list(expected)}


NO_CALL = {"kind": "no_call"}
ASK = {"kind": "ask"}


def answer(*mentions):
    return {"kind": "answer", "mentions": list(mentions)}


def U(text):
    return {"role": "user", "content": text}


def SYS(text):
    return {"role": "system", "content": text}


def A(*tool_calls, content=None):
    """An assistant turn with tool calls, each (id, name, arguments dict)."""
    return {"role": "assistant", "content": content, "tool_calls": [
        {"id": cid, "type": "function", "function": {"name": name, "arguments": json.dumps(args)}}
        for cid, name, args in tool_calls]}


def T(call_id, result):
    return {"role": "tool", "tool_call_id": call_id,
            "content": result if isinstance(result, str) else json.dumps(result)}


CASES: list[dict] = []
DERIVED: set[str] = set()  # multi_turn follow-ups whose argument is computed from the result, not copied


class Domain:
    def __init__(self, name, system, tools):
        self.name, self.system = name, system
        self.tools = {t["function"]["name"]: t for t in tools}
        self.counter = Counter()

    def t(self, *names):
        return [self.tools[n] for n in names]

    @property
    def all(self):
        return list(self.tools.values())

    def sys_msg(self):
        return SYS(self.system)

    def add(self, category, expected, prompt=None, *, messages=None, tools=None, system=False, derived=False):
        assert category in CATEGORIES, category
        self.counter[category] += 1
        case_id = f"{self.name.replace('_', '-')}-{category.replace('_', '-')}-{self.counter[category]:02d}"
        case = {"id": case_id, "category": category, "domain": self.name}
        if messages is not None:
            case["messages"] = messages
        else:
            if system:
                case["system"] = self.system if system is True else system
            case["prompt"] = prompt
        case["tools"] = tools if tools is not None else self.all
        case["expected"] = expected
        if derived:
            DERIVED.add(case_id)
        CASES.append(case)


# =========================================================================== weather

LOC = s("City name, optionally followed by region or country, e.g. 'Lyon, France'.")
UNITS = enum("Temperature units.", ["celsius", "fahrenheit"], default="celsius")
POLLUTANTS = ["pm25", "pm10", "o3", "no2", "so2", "co"]

weather = Domain("weather", "You are a helpful weather assistant. Answer briefly.", [
    fn("get_current_weather", "Get the current conditions (temperature, sky, wind) for a location.",
       {"location": LOC, "units": UNITS}, ["location"]),
    fn("get_forecast", "Get a daily weather forecast for a location, starting today.",
       {"location": LOC,
        "days": integer("Number of days to forecast (1-14), counting today.", minimum=1, maximum=14, default=3),
        "units": UNITS,
        "include": array("Extra fields to report for each day.",
                         enum_items(["precipitation", "wind", "humidity", "uv_index"]), default=[])},
       ["location"]),
    fn("get_air_quality", "Get the current air quality index and pollutant concentrations for a location.",
       {"location": LOC,
        "pollutants": array("Pollutants to report.", enum_items(POLLUTANTS), default=POLLUTANTS)},
       ["location"]),
    fn("get_weather_alerts", "List active official weather warnings for a region.",
       {"region": s("Country, state/province or city, e.g. 'Bavaria' or 'Texas'."),
        "severity_min": enum("Lowest severity to include.", ["minor", "moderate", "severe", "extreme"],
                             default="minor")},
       ["region"]),
    fn("get_historical_weather", "Get the observed weather for a location on a past date.",
       {"location": LOC, "date": s("Past date in YYYY-MM-DD format."), "units": UNITS},
       ["location", "date"]),
])
W = weather
LISBON = ("Lisbon", "Lisbon, Portugal", "Lisboa")
W.add("simple", calls(C("get_current_weather", location=LISBON)),
      "What's the weather like in Lisbon right now?", tools=W.t("get_current_weather"))
W.add("simple", calls(C("get_current_weather", location=(
    "Phoenix", "Phoenix, AZ", "Phoenix, Arizona", "Phoenix, AZ, USA", "Phoenix, Arizona, USA", "Phoenix, US"),
    units="fahrenheit")),
    "how hot is it in phoenix az rn?? fahrenheit pls", tools=W.t("get_current_weather"))
W.add("simple", calls(C("get_forecast", location=(
    "Edinburgh", "Edinburgh, Scotland", "Edinburgh, UK", "Edinburgh, United Kingdom", "Edinburgh, Scotland, UK"),
    days=7, include=perms(["wind", "precipitation"]))),
    "Give me a 7-day forecast for Edinburgh, and include wind and precipitation.", tools=W.t("get_forecast"),
    system=True)
W.add("multiple", calls(C("get_air_quality", _opt=["pollutants"], location=(
    "Delhi", "New Delhi", "Delhi, India", "New Delhi, India"))),
    "Is the air OK for a jog in Delhi this morning? I'm mostly worried about PM2.5.")
W.add("multiple", calls(C("get_historical_weather", location=(
    "Chicago", "Chicago, IL", "Chicago, Illinois", "Chicago, USA", "Chicago, IL, USA", "Chicago, Illinois, USA"),
    date="2024-07-04")),
    "What was the weather in Chicago on the 4th of July 2024? We had a picnic planned and I can't remember "
    "if it got rained out.")
W.add("parallel", calls(
    C("get_current_weather", location=("Tokyo", "Tokyo, Japan")),
    C("get_current_weather", location=("Seoul", "Seoul, South Korea", "Seoul, Korea")),
    C("get_current_weather", location=("Bangkok", "Bangkok, Thailand"))),
    "Compare the current temperatures in Tokyo, Seoul and Bangkok.", tools=W.t("get_current_weather"))
W.add("parallel", calls(
    C("get_forecast", location=("Denver", "Denver, CO", "Denver, Colorado", "Denver, CO, USA"), days=2),
    C("get_forecast", location=("Salt Lake City", "Salt Lake City, UT", "Salt Lake City, Utah",
                                "Salt Lake City, UT, USA"), days=2)),
    "I'm driving from Denver to Salt Lake City tomorrow. Can you pull a 2-day forecast for both ends?",
    tools=W.t("get_forecast"))
W.add("parallel_multiple", calls(
    C("get_weather_alerts", region=("Florida", "Florida, USA", "FL"), severity_min="severe"),
    C("get_current_weather", location=("Miami", "Miami, FL", "Miami, Florida", "Miami, FL, USA"))),
    "Are there any severe weather warnings out for Florida? And what's it like in Miami at the moment?")
W.add("parallel_multiple", calls(
    C("get_forecast", location=("Cape Town", "Cape Town, South Africa"), days=5),
    C("get_air_quality", location=("Cape Town", "Cape Town, South Africa"))),
    "Heading to Cape Town on a work trip: what's the 5-day forecast there, and how's the air quality?",
    system=True)
W.add("irrelevance", NO_CALL, "Translate 'the rain in Spain stays mainly in the plain' into German.")
W.add("irrelevance", NO_CALL, "Can you explain why the sky looks blue during the day but red at sunset?",
      system=True)
W.add("multi_turn", answer("13", "sleet"), messages=[
    U("What's it like in Oslo at the moment?"),
    A(("call_w_01", "get_current_weather", {"location": "Oslo"})),
    T("call_w_01", {"location": "Oslo, Norway", "temperature": 13, "units": "celsius", "conditions": "sleet",
                    "wind_kph": 22, "humidity": 91}),
])
W.add("multi_turn", calls(C("get_forecast", location=("Milan", "Milan, Italy", "Milano", "Milano, Italy"), days=3)),
      messages=[
          W.sys_msg(),
          U("Which has worse air right now, Milan or Turin? Then get me the 3-day forecast for whichever is worse."),
          A(("call_w_02", "get_air_quality", {"location": "Milan"}),
            ("call_w_03", "get_air_quality", {"location": "Turin"})),
          T("call_w_02", {"location": "Milan, Italy", "aqi": 112, "category": "unhealthy for sensitive groups",
                          "dominant_pollutant": "pm25"}),
          T("call_w_03", {"location": "Turin, Italy", "aqi": 87, "category": "moderate",
                          "dominant_pollutant": "o3"}),
      ])
W.add("missing_argument", ASK, "What's the weather going to be like this week?", tools=W.t("get_forecast"))
W.add("missing_argument", ASK, "Can you look up what the weather was like in Madrid on my birthday?",
      tools=W.t("get_historical_weather"))

# =========================================================================== calendar

DATE = s("Date in YYYY-MM-DD format.")
HHMM = s("Start time, 24-hour HH:MM in the user's time zone.")
CAL_SYS = ("You are a scheduling assistant. Today is Monday, 9 June 2025; the user's time zone is "
           "Europe/Berlin. Resolve relative dates yourself.")
EMAILS = array("Attendee email addresses.", {"type": "string", "format": "email"}, default=[])

calendar = Domain("calendar", CAL_SYS, [
    fn("list_events", "List calendar events between two dates (inclusive).",
       {"start_date": DATE,
        "end_date": s("Last date to include, YYYY-MM-DD. Omit to list a single day."),
        "calendar": enum("Which calendar to read.", ["work", "personal", "family", "all"], default="all")},
       ["start_date"]),
    fn("create_event", "Create a calendar event.",
       {"title": s("Event title."), "date": DATE, "start_time": HHMM,
        "duration_minutes": integer("Length in minutes.", minimum=5, default=60),
        "attendees": EMAILS,
        "location": s("Where the event takes place."),
        "recurrence": obj("Repeat rule; omit for a one-off event.", {
            "frequency": enum("How often it repeats.", ["daily", "weekly", "monthly"]),
            "count": integer("Total number of occurrences, including the first.", minimum=2)},
            ["frequency", "count"]),
        "reminder_minutes": integer("Minutes before the start to send a reminder.", minimum=0, default=10)},
       ["title", "date", "start_time"]),
    fn("find_free_slot", "Find the first free slot of a given length on a day, for the user and optional attendees.",
       {"date": DATE, "duration_minutes": integer("Length of the slot in minutes.", minimum=5),
        "attendees": EMAILS,
        "earliest": s("Earliest start, HH:MM.", default="09:00"),
        "latest": s("Latest end, HH:MM.", default="18:00")},
       ["date", "duration_minutes"]),
    fn("reschedule_event", "Move an existing event to a new date and start time (keeps its length).",
       {"event_id": s("Event id, e.g. 'evt_123'."), "new_date": DATE, "new_start_time": HHMM},
       ["event_id", "new_date", "new_start_time"]),
    fn("delete_event", "Delete an event.",
       {"event_id": s("Event id, e.g. 'evt_123'."),
        "notify_attendees": boolean("Email the attendees about the cancellation.", default=True)},
       ["event_id"]),
])
K = calendar
K.add("simple", calls(C("list_events", _opt=["end_date"], start_date="2025-06-10", end_date="2025-06-10")),
      "What's on my calendar tomorrow?", tools=K.t("list_events"), system=True)
K.add("simple", calls(C("create_event", title=("Dentist appointment", "Dentist", "Dentist appt"),
                        date="2025-07-02", start_time="15:30", duration_minutes=45)),
      "Add 'Dentist appointment' on 2025-07-02 at 3:30pm to my calendar, it takes 45 minutes.",
      tools=K.t("create_event"))
K.add("simple", calls(C("create_event", title=("Priya / Sam 1:1", "Priya/Sam 1:1"), date="2025-06-12",
                        start_time="10:00", attendees=["priya@acme.io"],
                        recurrence={"frequency": "weekly", "count": 6})),
      "Set up a weekly 1:1 with priya@acme.io on Thursdays at 10am for the next six weeks, starting this "
      "Thursday. Call it 'Priya / Sam 1:1'.", tools=K.t("create_event"), system=True)
K.add("multiple", calls(C("delete_event", event_id="evt_4471", notify_attendees=False)),
      "Cancel evt_4471 but don't email everyone about it.", system=True)
K.add("multiple", calls(C("find_free_slot", date="2025-06-11", duration_minutes=30, attendees=["lena.k@acme.io"],
                          earliest="13:00")),
      "Find me a 30-minute gap on Wednesday when both me and lena.k@acme.io are free, sometime after 1pm.",
      system=True)
K.add("parallel", calls(
    C("list_events", _opt=["end_date"], start_date="2025-06-10", end_date="2025-06-10", calendar="work"),
    C("list_events", _opt=["end_date"], start_date="2025-06-14", end_date="2025-06-14", calendar="family")),
    "Show me my work calendar for Tuesday and the family calendar for Saturday.", tools=K.t("list_events"),
    system=True)
K.add("parallel", calls(
    C("reschedule_event", event_id="evt_101", new_date="2025-06-20", new_start_time="09:00"),
    C("reschedule_event", event_id="evt_102", new_date="2025-06-20", new_start_time="11:30")),
    "Push evt_101 and evt_102 to 2025-06-20, at 09:00 and 11:30 respectively.", tools=K.t("reschedule_event"))
K.add("parallel_multiple", calls(
    C("reschedule_event", event_id="evt_880", new_date="2025-06-13", new_start_time="16:00"),
    C("create_event", title=("Prep for review", "Prep for the review", "Review prep"), date="2025-06-13",
      start_time="15:45", duration_minutes=15)),
    "Move evt_880 to Friday at 4pm, and block 15 minutes right before it called 'Prep for review'.", system=True)
K.add("parallel_multiple", calls(
    C("delete_event", event_id="evt_12"),
    C("list_events", _opt=["end_date"], start_date="2025-06-18", end_date="2025-06-18")),
    "delete evt_12 pls, and whats on the 18th?", system=True)
K.add("irrelevance", NO_CALL, "Write me a short haiku about Monday mornings.", system=True)
K.add("irrelevance", NO_CALL, "What does the abbreviation RSVP actually stand for?")
K.add("multi_turn", answer("Quarterly planning", "14:00", "2pm", "2 pm", "2:00 pm"), messages=[
    K.sys_msg(),
    U("Do I have anything on Thursday?"),
    A(("call_k_01", "list_events", {"start_date": "2025-06-12"})),
    T("call_k_01", {"events": [{"id": "evt_3310", "title": "Quarterly planning", "start": "2025-06-12T14:00",
                                "end": "2025-06-12T15:30", "location": "Room Tegel", "calendar": "work"}]}),
])
K.add("multi_turn", calls(C("reschedule_event", event_id="evt_5120", new_date="2025-06-16", new_start_time="08:15")),
      messages=[
          K.sys_msg(),
          U("Move my dentist appointment this week to the same time on the following Monday."),
          A(("call_k_02", "list_events", {"start_date": "2025-06-09", "end_date": "2025-06-15"})),
          T("call_k_02", {"events": [
              {"id": "evt_5002", "title": "Team standup", "start": "2025-06-10T09:30", "end": "2025-06-10T09:45"},
              {"id": "evt_5120", "title": "Dentist", "start": "2025-06-11T08:15", "end": "2025-06-11T09:00",
               "location": "Praxis Dr. Albers"},
              {"id": "evt_5133", "title": "Dinner with Jonas", "start": "2025-06-13T19:00",
               "end": "2025-06-13T21:00"}]}),
      ])
K.add("missing_argument", ASK, "Put a meeting with the design team in my calendar on Friday.",
      tools=K.t("create_event"), system=True)
K.add("missing_argument", ASK, "Reschedule evt_2093, something next week works.", tools=K.t("reschedule_event"),
      system=True)

# =========================================================================== shopping

CATS = ["electronics", "clothing", "home", "books", "toys", "sports", "beauty", "grocery"]
ORDER_ID = s("Order number, e.g. 'ORD-123456'.")
shopping = Domain("shopping", "You are the shopping assistant of an online store. Prices are in US dollars.", [
    fn("search_products", "Search the store catalog.",
       {"query": s("Search terms."),
        "category": enum("Restrict to one department.", CATS),
        "max_price": number("Highest price in USD.", minimum=0),
        "sort_by": enum("Result order.", ["relevance", "price_low", "price_high", "rating"], default="relevance"),
        "in_stock_only": boolean("Hide items that are out of stock.", default=True)},
       ["query"]),
    fn("add_to_cart", "Add a product to the shopping cart.",
       {"product_id": s("Product id, e.g. 'P-12345'."),
        "quantity": integer("How many.", minimum=1, default=1),
        "options": obj("Variant of the product, where it has any.", {
            "size": s("Size label, e.g. 'M' or '42'."), "color": s("Color name.")})},
       ["product_id"]),
    fn("get_order_status", "Get the status of an order.", {"order_id": ORDER_ID}, ["order_id"]),
    fn("track_package", "Track a shipment by its tracking number.",
       {"tracking_number": s("Carrier tracking number."),
        "carrier": enum("Carrier, if known.", ["ups", "fedex", "dhl", "usps"])},
       ["tracking_number"]),
    fn("return_item", "Start a return for one item of an order.",
       {"order_id": ORDER_ID, "item_id": s("Item id within the order, e.g. 'IT-3'."),
        "reason": enum("Why it is returned.", ["damaged", "wrong_item", "not_as_described", "no_longer_needed",
                                               "other"]),
        "refund_method": enum("How to refund.", ["original_payment", "store_credit"], default="original_payment")},
       ["order_id", "item_id", "reason"]),
])
S = shopping
S.add("simple", calls(C("search_products", _opt=["category"], query=("wireless earbuds", "earbuds", "wireless earbud",
                                                                     "wireless headphones"),
                        category="electronics", max_price=80)),
      "find me wireless earbuds under 80 bucks", tools=S.t("search_products"))
S.add("simple", calls(C("get_order_status", order_id="ORD-558120")),
      "Where's my order ORD-558120? It was supposed to arrive yesterday.", tools=S.t("get_order_status"))
S.add("simple", calls(C("add_to_cart", product_id="P-20931", quantity=2, options={"size": "M", "color": "navy"})),
      "Add two of P-20931 to my cart, size M in navy.", tools=S.t("add_to_cart"), system=True)
S.add("multiple", calls(C("track_package", tracking_number="1Z999AA10123456784", carrier="ups")),
      "My UPS package 1Z999AA10123456784 hasn't moved in days. Where is it?")
S.add("multiple", calls(C("return_item", order_id="ORD-440912", item_id="IT-7", reason="damaged",
                          refund_method="store_credit")),
      "I want to return item IT-7 from order ORD-440912, it arrived cracked. Store credit is fine.", system=True)
S.add("parallel", calls(C("get_order_status", order_id="ORD-100231"), C("get_order_status", order_id="ORD-100232"),
                        C("get_order_status", order_id="ORD-100240")),
      "Can you check on orders ORD-100231, ORD-100232 and ORD-100240?", tools=S.t("get_order_status"))
S.add("parallel", calls(
    C("search_products", query=("yoga mat", "yoga mats"), category="sports", sort_by="rating"),
    C("search_products", query=("foam roller", "foam rollers"), category="sports", sort_by="price_low")),
    "Look up the best-rated yoga mats and also the cheapest foam rollers, both in the sports section.",
    tools=S.t("search_products"))
S.add("parallel_multiple", calls(C("add_to_cart", product_id="P-7781"),
                                 C("get_order_status", order_id="ORD-330019")),
      "Add P-7781 to my cart, and tell me where order ORD-330019 is.")
S.add("parallel_multiple", calls(
    C("return_item", order_id="ORD-902211", item_id="IT-2", reason="wrong_item"),
    C("search_products", _opt=["category"], query=("USB-C hub 7-in-1", "7-in-1 USB-C hub", "USB-C hub"),
      category="electronics", max_price=45)),
    "They sent me the wrong thing for item IT-2 of ORD-902211, please return it. Also search for a "
    "'USB-C hub 7-in-1' under $45 so I can get the right one.", system=True)
S.add("irrelevance", NO_CALL, "What's a good recipe for banana bread that doesn't need eggs?")
S.add("irrelevance", NO_CALL, "how do i reset the wifi password on my router", system=True)
S.add("multi_turn", answer("June 12", "12 June", "2025-06-12", "June 12th", "12th of June", "Thursday"), messages=[
    U("what's going on with ORD-771245?"),
    A(("call_s_01", "get_order_status", {"order_id": "ORD-771245"})),
    T("call_s_01", {"order_id": "ORD-771245", "status": "shipped", "carrier": "fedex",
                    "tracking_number": "781234567890", "estimated_delivery": "2025-06-12 (Thursday)"}),
])
S.add("multi_turn", calls(C("add_to_cart", product_id="P-60210")), messages=[
    S.sys_msg(),
    U("Search for a 4-slice toaster, cheapest first, and put the cheapest one in my cart."),
    A(("call_s_02", "search_products", {"query": "4-slice toaster", "category": "home", "sort_by": "price_low"})),
    T("call_s_02", {"results": [
        {"product_id": "P-60210", "name": "BrewMate 4-Slice Toaster", "price": 34.99, "rating": 4.1},
        {"product_id": "P-60377", "name": "Crumb Co. Wide-Slot Toaster (4 slices)", "price": 39.5, "rating": 4.6},
        {"product_id": "P-60412", "name": "Steelform 4-Slice Toaster", "price": 54.0, "rating": 4.4}]}),
])
S.add("missing_argument", ASK, "I'd like to return the blender from my last order.", tools=S.t("return_item"))
S.add("missing_argument", ASK, "Track my package please.", tools=S.t("track_package"))

# =========================================================================== finance

ACCOUNTS = ["checking", "savings", "credit_card", "brokerage"]
CCY = "ISO 4217 currency code, e.g. 'USD'."
finance = Domain("finance", "You are a personal banking assistant for a US customer. Never guess numbers.", [
    fn("get_stock_quote", "Get the latest price of a listed stock.",
       {"symbol": s("Ticker symbol in upper case, e.g. 'AAPL'."),
        "exchange": enum("Exchange, when the ticker is ambiguous.", ["NASDAQ", "NYSE", "LSE", "TSE", "XETRA"])},
       ["symbol"]),
    fn("convert_currency", "Convert an amount between currencies at today's rate.",
       {"amount": number("Amount to convert.", exclusiveMinimum=0),
        "from_currency": s("Source " + CCY, pattern="^[A-Z]{3}$"),
        "to_currency": s("Target " + CCY, pattern="^[A-Z]{3}$")},
       ["amount", "from_currency", "to_currency"]),
    fn("get_account_balance", "Get the current balance of one of the user's accounts.",
       {"account": enum("Account.", ACCOUNTS)}, ["account"]),
    fn("transfer_funds", "Move money between the user's own accounts.",
       {"from_account": enum("Account to take money from.", ACCOUNTS),
        "to_account": enum("Account to put money into.", ACCOUNTS),
        "amount": number("Amount in USD.", exclusiveMinimum=0),
        "memo": s("Note shown on both statements.")},
       ["from_account", "to_account", "amount"]),
    fn("list_transactions", "List transactions of an account, optionally filtered.",
       {"account": enum("Account.", ACCOUNTS),
        "start_date": s("First day, YYYY-MM-DD."), "end_date": s("Last day, YYYY-MM-DD."),
        "category": enum("Spending category.", ["groceries", "dining", "travel", "utilities", "entertainment",
                                                "shopping", "other"]),
        "min_amount": number("Only transactions of at least this many USD.", minimum=0)},
       ["account"]),
    fn("calculate_loan_payment", "Monthly payment of a fixed-rate amortizing loan.",
       {"principal": number("Amount borrowed.", exclusiveMinimum=0),
        "annual_rate_percent": number("Nominal annual interest rate in percent, e.g. 5.5.", minimum=0),
        "term_months": integer("Length of the loan in months.", minimum=1),
        "extra_monthly_payment": number("Extra principal paid each month.", minimum=0, default=0)},
       ["principal", "annual_rate_percent", "term_months"]),
])
F = finance
F.add("simple", calls(C("get_stock_quote", _opt=["exchange"], symbol="AAPL", exchange="NASDAQ")),
      "What's Apple trading at?", tools=F.t("get_stock_quote"))
F.add("simple", calls(C("convert_currency", amount=250, from_currency="EUR", to_currency="JPY")),
      "How much is 250 euros in Japanese yen?", tools=F.t("convert_currency"))
F.add("simple", calls(C("calculate_loan_payment", principal=320000, annual_rate_percent=6.25, term_months=360)),
      "If I borrow $320,000 at 6.25% for 30 years, what would the monthly payment be?",
      tools=F.t("calculate_loan_payment"), system=True)
F.add("multiple", calls(C("transfer_funds", from_account="checking", to_account="savings", amount=500,
                          memo=("emergency fund", "Emergency fund"))),
      "move 500 from checking to savings, memo 'emergency fund'")
F.add("multiple", calls(C("list_transactions", account="credit_card", start_date="2025-05-01",
                          end_date="2025-05-31", category="dining", min_amount=50)),
      "Show me my credit card dining charges from May 2025 that were $50 or more.", system=True)
F.add("parallel", calls(C("get_stock_quote", _opt=["exchange"], symbol="NVDA", exchange="NASDAQ"),
                        C("get_stock_quote", _opt=["exchange"], symbol="MSFT", exchange="NASDAQ"),
                        C("get_stock_quote", _opt=["exchange"], symbol="TSLA", exchange="NASDAQ")),
      "Quick check on NVDA, MSFT and TSLA?", tools=F.t("get_stock_quote"))
F.add("parallel", calls(C("get_account_balance", account="checking"), C("get_account_balance", account="savings")),
      "How much do I have in checking, and how much in savings?", tools=F.t("get_account_balance"), system=True)
F.add("parallel_multiple", calls(C("get_account_balance", account="brokerage"),
                                 C("convert_currency", amount=1000, from_currency="USD", to_currency="GBP")),
      "What's my brokerage balance, and what is 1,000 USD in pounds sterling?")
F.add("parallel_multiple", calls(C("get_stock_quote", symbol=("SIE", "SIE.DE"), exchange="XETRA"),
                                 C("convert_currency", amount=2000, from_currency="EUR", to_currency="USD")),
      "Get me Siemens' share price on XETRA, and convert 2,000 EUR to dollars while you're at it.", system=True)
F.add("irrelevance", NO_CALL, "Explain the difference between a Roth IRA and a traditional IRA in plain words.",
      system=True)
F.add("irrelevance", NO_CALL, "Write a limerick about a cat who is obsessed with tuna.")
F.add("multi_turn", answer("2417.83", "2,417"), messages=[
    U("What's my checking balance?"),
    A(("call_f_01", "get_account_balance", {"account": "checking"})),
    T("call_f_01", {"account": "checking", "balance": 2417.83, "currency": "USD", "as_of": "2025-06-09T08:00:00Z"}),
])
F.add("multi_turn", calls(C("convert_currency", amount=6850, from_currency="USD", to_currency="EUR")), messages=[
    F.sys_msg(),
    U("How much is my savings balance worth in euros?"),
    A(("call_f_02", "get_account_balance", {"account": "savings"})),
    T("call_f_02", {"account": "savings", "balance": 6850.0, "currency": "USD", "as_of": "2025-06-09T08:00:00Z"}),
])
F.add("missing_argument", ASK, "Send some money from checking over to savings.", tools=F.t("transfer_funds"))
F.add("missing_argument", ASK, "Convert 300 dollars for me.", tools=F.t("convert_currency"), system=True)

# =========================================================================== travel

IATA = "IATA airport or city code, e.g. 'JFK' or 'NYC'."
TRAVEL_SYS = "You are a travel booking assistant. Today is Monday, 9 June 2025."
travel = Domain("travel", TRAVEL_SYS, [
    fn("search_flights", "Search flight offers.",
       {"origin": s("Departure " + IATA), "destination": s("Arrival " + IATA),
        "departure_date": s("Outbound date, YYYY-MM-DD."),
        "return_date": s("Return date, YYYY-MM-DD. Omit for a one-way trip."),
        "passengers": obj("Who travels.", {
            "adults": integer("Travellers aged 12 or over.", minimum=1),
            "children": integer("Travellers aged 2-11.", minimum=0)},
            ["adults", "children"], default={"adults": 1, "children": 0}),
        "cabin_class": enum("Cabin.", ["economy", "premium_economy", "business", "first"], default="economy"),
        "nonstop_only": boolean("Only direct flights.", default=False)},
       ["origin", "destination", "departure_date"]),
    fn("book_flight", "Book a flight offer returned by search_flights.",
       {"flight_id": s("Offer id, e.g. 'FO-12345'."),
        "passengers": array("Travellers, as on their passports.", obj("A traveller.", {
            "first_name": s("Given name."), "last_name": s("Family name.")}, ["first_name", "last_name"]),
            minItems=1),
        "seat_preference": enum("Seat wish.", ["window", "aisle", "no_preference"], default="no_preference")},
       ["flight_id", "passengers"]),
    fn("search_hotels", "Search hotels in a city.",
       {"city": s("City name."), "check_in": s("Check-in date, YYYY-MM-DD."),
        "check_out": s("Check-out date, YYYY-MM-DD."),
        "guests": integer("Number of guests.", minimum=1, default=2),
        "max_price_per_night": number("Highest nightly rate in USD.", minimum=0),
        "amenities": array("Required amenities.", enum_items(["wifi", "pool", "parking", "breakfast", "gym",
                                                              "pet_friendly"]))},
       ["city", "check_in", "check_out"]),
    fn("get_flight_status", "Live status of a flight on a given date.",
       {"flight_number": s("Airline code and number, e.g. 'LH400'."), "date": s("Flight date, YYYY-MM-DD.")},
       ["flight_number", "date"]),
    fn("get_visa_requirements", "Entry and visa rules for a passport holder visiting a country.",
       {"passport_country": s("Country that issued the passport (English name)."),
        "destination_country": s("Country to visit (English name)."),
        "stay_days": integer("Planned length of stay in days.", minimum=1)},
       ["passport_country", "destination_country"]),
])
R = travel
R.add("simple", calls(C("search_flights", origin=("BOS",), destination=("LIS",), departure_date="2025-06-13")),
      "Find me a one-way flight from Boston to Lisbon this Friday, the 13th.", tools=R.t("search_flights"),
      system=True)
R.add("simple", calls(C("get_flight_status", flight_number=("BA117", "BA 117"), date="2025-06-09")),
      "Is BA117 on time today?", tools=R.t("get_flight_status"), system=True)
R.add("simple", calls(C("search_hotels", city=("Kyoto", "Kyoto, Japan"), check_in="2025-06-20",
                        check_out="2025-06-24", amenities=perms(["wifi", "breakfast"]), max_price_per_night=150)),
      "Hotel in Kyoto from June 20 to June 24 — needs wifi and breakfast, max $150 a night.",
      tools=R.t("search_hotels"), system=True)
R.add("multiple", calls(C("get_visa_requirements", passport_country=("Canada",),
                          destination_country=("Vietnam", "Viet Nam"), stay_days=14)),
      "Do I need a visa for Vietnam on a Canadian passport? I'd stay two weeks.")
R.add("multiple", calls(C("book_flight", flight_id="FO-88213", seat_preference="aisle", passengers=perms([
    {"first_name": "Maria", "last_name": "Lopez"}, {"first_name": "Tomas", "last_name": "Lopez"}]))),
    "Book flight offer FO-88213 for Maria Lopez and Tomas Lopez, aisle seats please.", system=True)
R.add("parallel", calls(C("get_flight_status", flight_number=("LH456", "LH 456"), date="2025-06-09"),
                        C("get_flight_status", flight_number=("UA932", "UA 932"), date="2025-06-09")),
      "Check the status of LH 456 and UA 932 for today.", tools=R.t("get_flight_status"), system=True)
R.add("parallel", calls(
    C("search_hotels", city=("Rome", "Rome, Italy", "Roma"), check_in="2025-07-01", check_out="2025-07-03", guests=2),
    C("search_hotels", city=("Florence", "Florence, Italy", "Firenze"), check_in="2025-07-03",
      check_out="2025-07-06", guests=2)),
    "compare hotels in rome and florence for 2 ppl, rome 1-3 july then florence 3-6 july", tools=R.t("search_hotels"),
    system=True)
R.add("parallel_multiple", calls(
    C("search_flights", origin="SFO", destination="HND", departure_date="2025-07-10", return_date="2025-07-24",
      cabin_class="business"),
    C("search_hotels", city=("Tokyo", "Tokyo, Japan"), check_in=("2025-07-10", "2025-07-11"),
      check_out="2025-07-24")),
    "Find round-trip business class flights from SFO to Tokyo Haneda, leaving July 10 and back July 24, "
    "and a hotel in Tokyo for the stay.", system=True)
R.add("parallel_multiple", calls(
    C("get_flight_status", flight_number=("AF1234", "AF 1234"), date="2025-06-15"),
    C("get_visa_requirements", passport_country=("United States", "USA", "United States of America", "US"),
      destination_country=("Brazil",))),
    "Is AF 1234 on 2025-06-15 still on schedule? Also, what are the visa rules for a US citizen visiting Brazil?")
R.add("irrelevance", NO_CALL, "What's the best way to learn basic Italian before a trip?", system=True)
R.add("irrelevance", NO_CALL, "how do i get red wine out of a hotel carpet lol")
R.add("multi_turn", answer("15:40", "3:40", "delayed", "delay"), messages=[
    R.sys_msg(),
    U("Is my flight KL1002 today on time?"),
    A(("call_r_01", "get_flight_status", {"flight_number": "KL1002", "date": "2025-06-09"})),
    T("call_r_01", {"flight_number": "KL1002", "status": "delayed", "scheduled_departure": "2025-06-09T14:05",
                    "estimated_departure": "2025-06-09T15:40", "gate": "D7"}),
])
R.add("multi_turn", calls(C("book_flight", flight_id="FO-20145", passengers=(
    [{"first_name": "Jan", "last_name": "de Vries"}], [{"first_name": "Jan", "last_name": "De Vries"}]))), messages=[
    R.sys_msg(),
    U("Find me the cheapest nonstop from Amsterdam to Barcelona on June 27 and book it for Jan de Vries."),
    A(("call_r_02", "search_flights", {"origin": "AMS", "destination": "BCN", "departure_date": "2025-06-27",
                                       "nonstop_only": True})),
    T("call_r_02", {"offers": [
        {"flight_id": "FO-20117", "airline": "KLM", "departure": "07:10", "price_usd": 189},
        {"flight_id": "FO-20145", "airline": "Vueling", "departure": "13:25", "price_usd": 96},
        {"flight_id": "FO-20160", "airline": "Transavia", "departure": "18:50", "price_usd": 121}]}),
])
R.add("missing_argument", ASK, "I need a flight to Denver on the 30th.", tools=R.t("search_flights"), system=True)
R.add("missing_argument", ASK, "Book FO-51234 for me.", tools=R.t("book_flight"))

# =========================================================================== smart home

ROOMS = ["living_room", "kitchen", "bedroom", "bathroom", "office", "hallway", "dining_room"]
DEVICES = ["front_door_lock", "back_door_lock", "garage_door", "thermostat", "living_room_lights", "kitchen_lights",
           "bedroom_lights", "robot_vacuum", "washing_machine", "smoke_detector"]
DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
smart_home = Domain("smart_home", "You control the user's smart home. Act on clear requests without asking twice.", [
    fn("set_light", "Switch or adjust the lights of a room.",
       {"room": enum("Room.", ROOMS), "power": enum("Turn on or off.", ["on", "off"]),
        "brightness": integer("Brightness in percent.", minimum=0, maximum=100),
        "color": s("Color name or hex code, e.g. 'warm white' or '#FFAA00'.")},
       ["room", "power"]),
    fn("set_thermostat", "Set the target temperature of a heating/cooling zone.",
       {"zone": enum("Zone.", ["living_room", "bedroom", "office", "whole_house"], default="whole_house"),
        "temperature": number("Target temperature."),
        "units": enum("Units of temperature.", ["celsius", "fahrenheit"], default="celsius"),
        "mode": enum("Operating mode.", ["heat", "cool", "auto", "eco", "off"], default="auto")},
       ["temperature"]),
    fn("lock_door", "Lock or unlock a door.",
       {"door": enum("Door.", ["front", "back", "garage", "patio"]),
        "action": enum("What to do.", ["lock", "unlock"])},
       ["door", "action"]),
    fn("get_device_status", "Current state of a device.", {"device": enum("Device.", DEVICES)}, ["device"]),
    fn("create_automation", "Run a scene automatically on a trigger.",
       {"trigger": obj("When to run.", {
           "type": enum("Trigger type.", ["time", "sunrise", "sunset", "arrive_home", "leave_home"]),
           "time": s("HH:MM, only for type 'time'.")}, ["type"]),
        "scene": enum("Scene to run.", ["good_morning", "movie_night", "away", "bedtime", "all_off"]),
        "days": array("Days it applies.", enum_items(DAYS), default=DAYS),
        "enabled": boolean("Start enabled.", default=True)},
       ["trigger", "scene"]),
    fn("start_vacuum", "Start the robot vacuum.",
       {"rooms": array("Rooms to clean; all when omitted.", enum_items(ROOMS)),
        "mode": enum("Suction mode.", ["quiet", "standard", "turbo"], default="standard")},
       []),
])
H = smart_home
H.add("simple", calls(C("set_light", room="kitchen", power="off")), "Turn off the kitchen lights.",
      tools=H.t("set_light"))
H.add("simple", calls(C("set_thermostat", zone="bedroom", temperature=19)), "make the bedroom 19 degrees",
      tools=H.t("set_thermostat"))
H.add("simple", calls(C("create_automation", trigger={"type": "time", "time": "06:45"}, scene="good_morning",
                        days=["mon", "tue", "wed", "thu", "fri"])),
      "Every weekday at 6:45, run the good morning scene.", tools=H.t("create_automation"), system=True)
H.add("multiple", calls(C("get_device_status", device="garage_door")), "Did I leave the garage door open?")
H.add("multiple", calls(C("start_vacuum", rooms=perms(["living_room", "hallway"]), mode="turbo")),
      "Vacuum the living room and the hallway on turbo.", system=True)
H.add("parallel", calls(C("lock_door", door="front", action="lock"), C("lock_door", door="back", action="lock")),
      "Lock the front and back doors.", tools=H.t("lock_door"))
H.add("parallel", calls(
    C("set_light", room="living_room", power="on", brightness=30),
    C("set_light", room="bedroom", power="on", color=("warm orange", "orange", "#FFA500", "#FF8C00"))),
    "Dim the living room lights to 30% and make the bedroom lights a warm orange.", tools=H.t("set_light"))
H.add("parallel_multiple", calls(C("set_light", room="living_room", power="off"),
                                 C("set_thermostat", zone="living_room", temperature=21)),
      "movie time! living room lights off and put the living room at 21", system=True)
H.add("parallel_multiple", calls(
    C("lock_door", door="front", action="lock"), C("lock_door", door="back", action="lock"),
    C("lock_door", door="garage", action="lock"), C("lock_door", door="patio", action="lock"),
    C("set_thermostat", zone="whole_house", temperature=16, mode="eco")),
    "I'm leaving for the weekend. Lock every door and set the whole house to eco at 16 degrees.")
H.add("irrelevance", NO_CALL, "What's a good name for a golden retriever puppy?", system=True)
H.add("irrelevance", NO_CALL, "How long should I boil an egg if I want the yolk runny?")
H.add("multi_turn", answer("23"), messages=[
    U("is the washing machine done yet?"),
    A(("call_h_01", "get_device_status", {"device": "washing_machine"})),
    T("call_h_01", {"device": "washing_machine", "state": "running", "program": "cotton 40",
                    "remaining_minutes": 23}),
])
H.add("multi_turn", calls(C("set_thermostat", zone="office", temperature=21.5)), messages=[
    H.sys_msg(),
    U("Set the office to whatever the living room is set to."),
    A(("call_h_02", "get_device_status", {"device": "thermostat"})),
    T("call_h_02", {"device": "thermostat", "units": "celsius", "zones": {
        "living_room": {"target": 21.5, "current": 20.9, "mode": "heat"},
        "bedroom": {"target": 18.0, "current": 18.2, "mode": "heat"},
        "office": {"target": 19.0, "current": 19.4, "mode": "auto"}}}),
])
H.add("missing_argument", ASK, "Switch the thermostat over to cooling mode.", tools=H.t("set_thermostat"))
H.add("missing_argument", ASK, "Unlock the door for the dog walker.", tools=H.t("lock_door"))

# =========================================================================== files

PATH = "Path; absolute or starting with '~'."
files = Domain("files", "You manage files on the user's computer. The home directory is ~.", [
    fn("list_files", "List the entries of a directory.",
       {"directory": s("Directory. " + PATH),
        "pattern": s("Glob pattern to filter names, e.g. '*.pdf'.", default="*"),
        "recursive": boolean("Include subdirectories.", default=False)},
       ["directory"]),
    fn("read_file", "Read a text file.",
       {"path": s("File. " + PATH), "max_bytes": integer("Read at most this many bytes.", minimum=1, default=65536)},
       ["path"]),
    fn("write_file", "Write text to a file.",
       {"path": s("File. " + PATH), "content": s("Text to write."),
        "mode": enum("create: fail if it exists; overwrite; append.", ["create", "overwrite", "append"],
                     default="create")},
       ["path", "content"]),
    fn("move_file", "Move or rename a file or directory.",
       {"source": s("Current location. " + PATH), "destination": s("New location (a directory or a full path). " + PATH)},
       ["source", "destination"]),
    fn("delete_file", "Delete a file.",
       {"path": s("File. " + PATH),
        "permanent": boolean("Delete for good instead of moving to the trash.", default=False)},
       ["path"]),
    fn("search_files", "Search file names and contents.",
       {"query": s("Text to look for."), "directory": s("Where to search. " + PATH, default="~"),
        "file_types": array("Extensions without the dot, e.g. ['pdf', 'docx'].", {"type": "string"})},
       ["query"]),
])
D = files
D.add("simple", calls(C("list_files", directory=("~/Downloads", "~/Downloads/"))), "What's in ~/Downloads?",
      tools=D.t("list_files"))
D.add("simple", calls(C("read_file", path="/etc/hosts")), "Open /etc/hosts and show me what's in it.",
      tools=D.t("read_file"), system=True)
D.add("simple", calls(C("write_file", path="~/notes/todo.txt", content=("buy oat milk", "buy oat milk\n",
                                                                        "\nbuy oat milk", "- buy oat milk"),
                        mode="append")),
      "Append the line 'buy oat milk' to ~/notes/todo.txt", tools=D.t("write_file"))
D.add("multiple", calls(C("search_files", query="invoice", directory=("~/Documents", "~/Documents/"),
                          file_types=["pdf"])),
      "Find every PDF under ~/Documents that mentions 'invoice'.")
D.add("multiple", calls(C("delete_file", path="~/tmp/old_build.zip", permanent=True)),
      "Permanently delete ~/tmp/old_build.zip — skip the trash.", system=True)
D.add("parallel", calls(
    C("move_file", source="~/Desktop/a.png", destination=("~/Pictures/screens", "~/Pictures/screens/",
                                                          "~/Pictures/screens/a.png")),
    C("move_file", source="~/Desktop/b.png", destination=("~/Pictures/screens", "~/Pictures/screens/",
                                                          "~/Pictures/screens/b.png"))),
    "Move ~/Desktop/a.png and ~/Desktop/b.png into ~/Pictures/screens/", tools=D.t("move_file"))
D.add("parallel", calls(C("read_file", path=("./config/dev.yaml", "config/dev.yaml")),
                        C("read_file", path=("./config/prod.yaml", "config/prod.yaml"))),
      "show me both config files, ./config/dev.yaml and ./config/prod.yaml", tools=D.t("read_file"))
D.add("parallel_multiple", calls(
    C("list_files", directory=("/var/log/myapp", "/var/log/myapp/"), pattern="*.log", recursive=True),
    C("read_file", path="/var/log/myapp/error.log")),
    "List all the .log files under /var/log/myapp, subfolders included, and read /var/log/myapp/error.log.")
D.add("parallel_multiple", calls(
    C("move_file", source="~/Documents/draft.md", destination="~/Documents/final.md"),
    C("delete_file", path="~/Documents/draft_old.md")),
    "Rename ~/Documents/draft.md to final.md (same folder) and delete ~/Documents/draft_old.md.", system=True)
D.add("irrelevance", NO_CALL, "What's the difference between TCP and UDP?")
D.add("irrelevance", NO_CALL, "Recommend me a sci-fi novel for a long flight.", system=True)
D.add("multi_turn", answer("wedding.mp4", "wedding"), messages=[
    U("What's the biggest file in ~/Videos?"),
    A(("call_d_01", "list_files", {"directory": "~/Videos"})),
    T("call_d_01", {"directory": "~/Videos", "entries": [
        {"name": "trip.mov", "type": "file", "size_bytes": 1288490188},
        {"name": "wedding.mp4", "type": "file", "size_bytes": 4823449600},
        {"name": "clips", "type": "directory"},
        {"name": "cat.gif", "type": "file", "size_bytes": 3145728}]}),
])
D.add("multi_turn", calls(C("read_file", path=("~/reports/q2_summary_2025-06-06.txt",))), messages=[
    D.sys_msg(),
    U("Read me the newest file in ~/reports."),
    A(("call_d_02", "list_files", {"directory": "~/reports"})),
    T("call_d_02", {"directory": "~/reports", "entries": [
        {"name": "q1_summary_2025-03-31.txt", "type": "file", "modified": "2025-03-31T17:02:00"},
        {"name": "q2_summary_2025-06-06.txt", "type": "file", "modified": "2025-06-06T11:45:00"},
        {"name": "budget_2025.txt", "type": "file", "modified": "2025-01-15T09:10:00"}]}),
])
D.add("missing_argument", ASK, "Save this to a file: 'Meeting moved to 3pm, room B'.", tools=D.t("write_file"))
D.add("missing_argument", ASK, "Move the quarterly report into the archive folder.", tools=D.t("move_file"),
      system=True)

# =========================================================================== math

math = Domain("math", "You are a math assistant. Use the tools for any computation.", [
    fn("evaluate_expression", "Evaluate an arithmetic expression exactly.",
       {"expression": s("Expression using numbers, + - * / ^, parentheses, e.g. '(3+4)^2'."),
        "precision": integer("Decimal places of the result.", minimum=0, maximum=50, default=10)},
       ["expression"]),
    fn("solve_equation", "Solve an equation in one variable.",
       {"equation": s("An equation with '=', e.g. '2x + 3 = 11'."),
        "variable": s("Variable to solve for.", default="x")},
       ["equation"]),
    fn("convert_units", "Convert a quantity between units of the same dimension.",
       {"value": number("Quantity."), "from_unit": s("Unit symbol, e.g. 'km', 'mi', 'kg', 'lb', 'ft', 'cm', "
                                                    "'degC', 'degF'."),
        "to_unit": s("Unit symbol, same style as from_unit.")},
       ["value", "from_unit", "to_unit"]),
    fn("describe_statistics", "Descriptive statistics of a list of numbers.",
       {"numbers": array("The data.", {"type": "number"}, minItems=1),
        "measures": array("Measures to compute.", enum_items(["mean", "median", "mode", "stdev", "variance", "min",
                                                              "max"]), minItems=1)},
       ["numbers", "measures"]),
    fn("prime_factors", "Prime factorization of an integer.", {"n": integer("Integer to factor.", minimum=2)}, ["n"]),
    fn("gcd_lcm", "Greatest common divisor or least common multiple of integers.",
       {"numbers": array("Integers.", {"type": "integer"}, minItems=2),
        "operation": enum("Which to compute.", ["gcd", "lcm"])},
       ["numbers", "operation"]),
])
M = math
KM = ("km", "kilometers", "kilometres", "kilometer", "kilometre")
M.add("simple", calls(C("evaluate_expression", expression=("(48 + 17) * 3 - 12", "((48 + 17) * 3) - 12"))),
      "Calculate (48 + 17) * 3 - 12", tools=M.t("evaluate_expression"))
M.add("simple", calls(C("solve_equation", equation="3y - 7 = 2y + 5", variable="y")),
      "Solve 3y - 7 = 2y + 5 for y.", tools=M.t("solve_equation"), system=True)
M.add("simple", calls(C("prime_factors", n=3960)), "whats the prime factorisation of 3,960", tools=M.t("prime_factors"))
M.add("multiple", calls(C("convert_units", value=42.195, from_unit=KM, to_unit=("mi", "miles", "mile"))),
      "How many miles is a marathon? It's 42.195 km.")
M.add("multiple", calls(C("describe_statistics", numbers=[12, 15, 11, 19, 23], measures=perms(["mean", "stdev"]))),
      "What are the mean and standard deviation of 12, 15, 11, 19, 23?", system=True)
M.add("parallel", calls(
    C("convert_units", value=180, from_unit=("lb", "lbs", "pounds", "pound"), to_unit=("kg", "kilograms")),
    C("convert_units", value=6, from_unit=("ft", "feet", "foot"), to_unit=("cm", "centimeters", "centimetres"))),
    "Convert 180 lb to kg and 6 ft to cm.", tools=M.t("convert_units"))
M.add("parallel", calls(C("solve_equation", equation=("x^2 - 5x + 6 = 0", "x**2 - 5*x + 6 = 0")), C("solve_equation", equation="4x + 9 = 1")),
      "Solve x^2 - 5x + 6 = 0, and also 4x + 9 = 1.", tools=M.t("solve_equation"))
M.add("parallel_multiple", calls(C("gcd_lcm", numbers=perms([12, 18, 30]), operation="lcm"),
                                 C("prime_factors", n=1001)),
      "Find the LCM of 12, 18 and 30, and the prime factors of 1001.")
M.add("parallel_multiple", calls(
    C("evaluate_expression", expression=("2^32", "2**32", "pow(2, 32)")),
    C("describe_statistics", numbers=[4, 8, 15, 16, 23, 42], measures=["median"])),
    "What's 2^32? And the median of 4, 8, 15, 16, 23, 42?", system=True)
M.add("irrelevance", NO_CALL, "Who proved Fermat's Last Theorem, and roughly when?")
M.add("irrelevance", NO_CALL, "Suggest a cozy name for my new bakery.", system=True)
M.add("multi_turn", answer("42"), messages=[
    U("What's the GCD of 84 and 126?"),
    A(("call_m_01", "gcd_lcm", {"numbers": [84, 126], "operation": "gcd"})),
    T("call_m_01", {"operation": "gcd", "numbers": [84, 126], "result": 42}),
])
M.add("multi_turn", calls(C("prime_factors", n=18)), messages=[
    M.sys_msg(),
    U("Solve 2x + 10 = 46, then give me the prime factors of the answer."),
    A(("call_m_02", "solve_equation", {"equation": "2x + 10 = 46"})),
    T("call_m_02", {"variable": "x", "solutions": [18]}),
])
M.add("missing_argument", ASK, "Convert this to Fahrenheit for me.", tools=M.t("convert_units"))
M.add("missing_argument", ASK, "Find the least common multiple.", tools=M.t("gcd_lcm"), system=True)

# =========================================================================== messaging

MSG_SYS = "You are a messaging assistant. Now: Monday 2025-06-09 09:15, time zone Europe/London."
CHANNELS = ["sms", "whatsapp", "signal", "imessage"]
messaging = Domain("messaging", MSG_SYS, [
    fn("send_message", "Send a chat message now.",
       {"recipient": s("Contact name as in the address book, or a phone number in E.164."),
        "text": s("Message text."), "channel": enum("Channel.", CHANNELS, default="sms")},
       ["recipient", "text"]),
    fn("send_email", "Send an email.",
       {"to": array("Recipient addresses.", {"type": "string", "format": "email"}, minItems=1),
        "subject": s("Subject line."), "body": s("Plain-text body."),
        "cc": array("CC addresses.", {"type": "string", "format": "email"}, default=[]),
        "attachments": array("Paths of files to attach.", {"type": "string"}, default=[])},
       ["to", "subject", "body"]),
    fn("read_messages", "Read received chat messages, newest first.",
       {"contact": s("Only messages from this contact."),
        "unread_only": boolean("Only unread messages.", default=True),
        "limit": integer("Most messages to return.", minimum=1, maximum=100, default=20)},
       []),
    fn("schedule_message", "Send a chat message later.",
       {"recipient": s("Contact name or E.164 number."), "text": s("Message text."),
        "send_at": s("Local date and time, YYYY-MM-DDTHH:MM."),
        "channel": enum("Channel.", CHANNELS, default="sms")},
       ["recipient", "text", "send_at"]),
    fn("create_group_chat", "Create a group chat.",
       {"name": s("Group name."), "members": array("Contact names.", {"type": "string"}, minItems=2),
        "channel": enum("Channel.", ["whatsapp", "signal", "imessage"], default="whatsapp")},
       ["name", "members"]),
    fn("search_contacts", "Look up contacts by name, company or note.",
       {"query": s("Search text.")}, ["query"]),
])
G = messaging
G.add("simple", calls(C("send_message", recipient=("Mom",), text="landed safely, call you tonight")),
      "Text Mom: 'landed safely, call you tonight'", tools=G.t("send_message"))
G.add("simple", calls(C("read_messages", contact="Dev")), "Any new messages from Dev?", tools=G.t("read_messages"))
G.add("simple", calls(C("send_email", to=["jordan.lee@northwind.com"], subject="Invoice #4471",
                        body="Hi Jordan, the invoice is attached. Thanks!", attachments=["~/invoices/4471.pdf"])),
      "Email jordan.lee@northwind.com, subject 'Invoice #4471', body 'Hi Jordan, the invoice is attached. Thanks!' "
      "and attach ~/invoices/4471.pdf", tools=G.t("send_email"), system=True)
G.add("multiple", calls(C("schedule_message", recipient="Carla", text=("don't forget the passports",
                                                                       "Don't forget the passports!"),
                          send_at="2025-06-10T08:00", channel="whatsapp")),
      "Remind Carla on WhatsApp tomorrow at 8am: \"don't forget the passports\"", system=True)
G.add("multiple", calls(C("create_group_chat", name="Book Club", members=perms(["Ana", "Ben", "Chloe"]),
                          channel="signal")),
      "Make a Signal group called 'Book Club' with Ana, Ben and Chloe.")
G.add("parallel", calls(C("send_message", recipient="Priya", text=("running 10 min late", "Running 10 min late!"),
                          channel="sms"),
                        C("send_message", recipient="Marco", text=("running 10 min late", "Running 10 min late!"),
                          channel="sms")),
      "Text both Priya and Marco 'running 10 min late'.", tools=G.t("send_message"))
G.add("parallel", calls(C("search_contacts", query=("Dr. Hassan", "Hassan", "Dr Hassan", "Doctor Hassan")),
                        C("search_contacts", query=("Kevin", "Kevin plumber", "plumber Kevin", "Kevin the plumber",
                                                    "plumber"))),
      "Look up the numbers for Dr. Hassan and for Kevin, the plumber.", tools=G.t("search_contacts"), system=True)
G.add("parallel_multiple", calls(
    C("read_messages", contact="Sophie", limit=5),
    C("send_message", recipient="Sophie", text=("on my way!", "On my way!"), channel="whatsapp")),
    "Read my last 5 messages from Sophie and WhatsApp her 'on my way!'")
G.add("parallel_multiple", calls(
    C("send_email", to=perms(["dana@corp.io", "li@corp.io"]), subject="Standup moved",
      body="Standup is at 10:30 today."),
    C("schedule_message", recipient=("Dana",), text=("Standup in 10!",), send_at="2025-06-09T10:20")),
    "Email dana@corp.io and li@corp.io, subject 'Standup moved', body 'Standup is at 10:30 today.' Then schedule "
    "a text to Dana at 10:20 saying 'Standup in 10!'", system=True)
G.add("irrelevance", NO_CALL, "Where does the word 'salary' come from?")
G.add("irrelevance", NO_CALL, "Help me plan a 3-day beginner workout split.", system=True)
G.add("multi_turn", answer("Rosa", "Lucas"), messages=[
    U("did anyone message me?"),
    A(("call_g_01", "read_messages", {})),
    T("call_g_01", {"messages": [
        {"from": "Aunt Rosa", "channel": "whatsapp", "text": "Lunch Sunday at 1?", "received": "2025-06-09T08:02"},
        {"from": "Lucas", "channel": "sms", "text": "Got the tickets!", "received": "2025-06-09T07:40"}]}),
])
G.add("multi_turn", calls(C("send_message", recipient=("Felipe Okafor", "+447700900123", "Felipe"),
                            text=("see you at 7", "See you at 7!", "See you at 7"), channel="signal")), messages=[
    G.sys_msg(),
    U("Send 'see you at 7' to Felipe over Signal."),
    A(("call_g_02", "search_contacts", {"query": "Felipe"})),
    T("call_g_02", {"contacts": [{"name": "Felipe Okafor", "phone": "+447700900123", "channels": ["sms", "signal"]}]}),
])
G.add("missing_argument", ASK, "Send a text to Grandpa.", tools=G.t("send_message"))
G.add("missing_argument", ASK, "Schedule a message to Omar saying 'happy birthday!!'", tools=G.t("schedule_message"),
      system=True)

# =========================================================================== music / media

OUTPUTS = ["current", "living_room_speaker", "kitchen_speaker", "headphones", "car", "tv"]
DEVICE = enum("Output device.", OUTPUTS, default="current")
music = Domain("music", "You are a music and media assistant connected to the user's streaming account.", [
    fn("play_music", "Start playing music or a podcast.",
       {"query": s("Song, album, artist, playlist, genre or podcast to play."),
        "type": enum("What the query names.", ["track", "album", "artist", "playlist", "genre", "podcast"],
                     default="track"),
        "shuffle": boolean("Shuffle the queue.", default=False), "device": DEVICE},
       ["query"]),
    fn("control_playback", "Control what is playing.",
       {"action": enum("Command.", ["pause", "resume", "next", "previous", "stop", "repeat_one", "repeat_off"]),
        "device": DEVICE},
       ["action"]),
    fn("set_volume", "Set the volume.",
       {"level": integer("Volume in percent.", minimum=0, maximum=100), "device": DEVICE}, ["level"]),
    fn("add_to_playlist", "Add tracks to one of the user's playlists.",
       {"playlist": s("Playlist name."),
        "tracks": array("Tracks to add.", obj("A track.", {"title": s("Track title."), "artist": s("Artist.")},
                                              ["title", "artist"]), minItems=1)},
       ["playlist", "tracks"]),
    fn("search_podcasts", "Search podcasts.",
       {"query": s("Topic or title."),
        "max_results": integer("Most results.", minimum=1, maximum=25, default=5),
        "language": s("ISO 639-1 language code.", default="en")},
       ["query"]),
    fn("get_lyrics", "Get the lyrics of a song.", {"title": s("Song title."), "artist": s("Artist.")}, ["title"]),
])
Mu = music
Mu.add("simple", calls(C("play_music", query=("Kind of Blue", "Kind of Blue Miles Davis", "Miles Davis Kind of Blue",
                                              "Kind of Blue by Miles Davis"), type="album")),
       "Play the album Kind of Blue by Miles Davis.", tools=Mu.t("play_music"))
Mu.add("simple", calls(C("set_volume", level=25)), "turn it down to 25", tools=Mu.t("set_volume"), system=True)
Mu.add("simple", calls(C("search_podcasts", query=("history of Rome", "Roman history", "Rome history",
                                                   "storia di Roma", "storia romana", "ancient Rome", "ancient Roman history",
                                                   "history of ancient Rome", "storia dell'antica Roma", "Roma antica"),
                         language="it")),
       "Find me some podcasts about the history of Rome, in Italian.", tools=Mu.t("search_podcasts"))
Mu.add("multiple", calls(C("control_playback", action="next")), "skip this song, I hate it")
Mu.add("multiple", calls(C("get_lyrics", _opt=["artist"], title="Bohemian Rhapsody", artist="Queen")),
       "What are the lyrics to 'Bohemian Rhapsody'?", system=True)
Mu.add("parallel", calls(
    C("add_to_playlist", playlist=("Roadtrip",), tracks=[{"title": "Dreams", "artist": "Fleetwood Mac"}]),
    C("add_to_playlist", playlist=("Chill Evenings",), tracks=[{"title": "Holocene", "artist": "Bon Iver"}])),
    "Add 'Dreams' by Fleetwood Mac to my Roadtrip playlist, and 'Holocene' by Bon Iver to Chill Evenings.",
    tools=Mu.t("add_to_playlist"))
Mu.add("parallel", calls(
    C("play_music", query=("jazz",), type="genre", device="kitchen_speaker"),
    C("play_music", query=("lo-fi", "lofi", "lo-fi hip hop", "lofi hip hop"), type="genre",
      device="living_room_speaker")),
    "Play jazz in the kitchen and lo-fi on the living room speaker.", tools=Mu.t("play_music"), system=True)
Mu.add("parallel_multiple", calls(C("control_playback", action="pause", device="tv"),
                                  C("set_volume", level=60, device="kitchen_speaker")),
       "Pause the TV and set the kitchen speaker to 60.")
Mu.add("parallel_multiple", calls(
    C("play_music", query="Gym Bangers", type="playlist", shuffle=True, device="headphones"),
    C("set_volume", _opt=["device"], level=80, device="headphones")),
    "Shuffle my 'Gym Bangers' playlist on my headphones, volume 80.", system=True)
Mu.add("irrelevance", NO_CALL, "Who won the 2018 FIFA World Cup?")
Mu.add("irrelevance", NO_CALL, "How do I tune my guitar to drop D?", system=True)
Mu.add("multi_turn", answer("The Sleep Lab", "Sleep Lab"), messages=[
    U("Can you find me a good podcast about the science of sleep?"),
    A(("call_mu_01", "search_podcasts", {"query": "science of sleep", "max_results": 3})),
    T("call_mu_01", {"results": [
        {"id": "pod_1184", "title": "The Sleep Lab", "host": "Dr. Mina Ortiz", "episodes": 142, "rating": 4.8},
        {"id": "pod_2290", "title": "Night Shift Brains", "host": "Theo Park", "episodes": 37, "rating": 4.2},
        {"id": "pod_3307", "title": "Rest Easy Weekly", "host": "Ana Brandt", "episodes": 260, "rating": 3.9}]}),
])
Mu.add("multi_turn", calls(C("play_music", query=("Concrete Gardener",), type="podcast", device="kitchen_speaker")),
       messages=[
           Mu.sys_msg(),
           U("Find a podcast about urban gardening and play the first result on the kitchen speaker."),
           A(("call_mu_02", "search_podcasts", {"query": "urban gardening"})),
           T("call_mu_02", {"results": [
               {"id": "pod_5521", "title": "Concrete Gardener", "episodes": 88},
               {"id": "pod_5604", "title": "Balcony Harvest", "episodes": 41}]}),
       ])
Mu.add("missing_argument", ASK, "Change the volume on the car speakers.", tools=Mu.t("set_volume"))
Mu.add("missing_argument", ASK, "Add a song to one of my playlists.", tools=Mu.t("add_to_playlist"), system=True)

# =========================================================================== restaurants

DINE_SYS = "You help users find restaurants and manage reservations. Today is Monday, 9 June 2025."
restaurants = Domain("restaurants", DINE_SYS, [
    fn("search_restaurants", "Search restaurants near a place.",
       {"location": s("Neighbourhood, city or address."), "cuisine": s("Cuisine, e.g. 'thai'."),
        "price_level": enum("Price level.", ["budget", "moderate", "upscale"]),
        "dietary": array("Dietary needs the menu must serve.", enum_items(["vegetarian", "vegan", "gluten_free",
                                                                          "halal", "kosher"])),
        "open_now": boolean("Only places open right now.", default=False),
        "min_rating": number("Lowest average rating, 0-5.", minimum=0, maximum=5)},
       ["location"]),
    fn("make_reservation", "Reserve a table.",
       {"restaurant": s("Restaurant name."), "date": s("Date, YYYY-MM-DD."), "time": s("Time, 24-hour HH:MM."),
        "party_size": integer("Number of people.", minimum=1, maximum=20),
        "special_requests": s("Free-text requests, e.g. 'high chair'.")},
       ["restaurant", "date", "time", "party_size"]),
    fn("get_menu", "Get a restaurant's menu.",
       {"restaurant": s("Restaurant name."),
        "meal": enum("Which menu.", ["breakfast", "lunch", "dinner", "all"], default="all")},
       ["restaurant"]),
    fn("cancel_reservation", "Cancel a reservation.", {"reservation_id": s("Reservation id, e.g. 'RSV-123'.")},
       ["reservation_id"]),
    fn("order_delivery", "Order food for delivery.",
       {"restaurant": s("Restaurant name."),
        "items": array("Dishes.", obj("A dish.", {"name": s("Dish name as on the menu."),
                                                  "quantity": integer("How many.", minimum=1)},
                                      ["name", "quantity"]), minItems=1),
        "address": s("Delivery address."),
        "tip_percent": number("Tip in percent of the subtotal.", minimum=0, default=15)},
       ["restaurant", "items", "address"]),
])
E = restaurants
E.add("simple", calls(C("search_restaurants", _opt=["cuisine"], location=("Shoreditch", "Shoreditch, London"),
                        dietary=["vegan"], open_now=True, cuisine="vegan")),
      "any vegan places near Shoreditch that are open right now?", tools=E.t("search_restaurants"))
E.add("simple", calls(C("make_reservation", restaurant="Osteria Nonna", date="2025-06-14", time="20:00", party_size=4)),
      "Book a table for 4 at Osteria Nonna this Saturday at 8pm.", tools=E.t("make_reservation"), system=True)
E.add("simple", calls(C("cancel_reservation", reservation_id="RSV-20981")), "Please cancel reservation RSV-20981.",
      tools=E.t("cancel_reservation"))
E.add("multiple", calls(C("get_menu", restaurant=("Café Margot", "Cafe Margot"), meal="lunch")),
      "What's on the lunch menu at Café Margot?")
E.add("multiple", calls(C("order_delivery", restaurant="Thai Orchid", address=("14 Elm Street", "14 Elm St"),
                          tip_percent=20, items=perms([{"name": "pad thai", "quantity": 2},
                                                       {"name": "green curry", "quantity": 1}]))),
      "Order 2 pad thai and 1 green curry from Thai Orchid to 14 Elm Street, with a 20% tip.", system=True)
E.add("parallel", calls(C("get_menu", restaurant="Sakura House", meal="dinner"),
                        C("get_menu", restaurant="El Farolito", meal="dinner")),
      "Show me the dinner menus for Sakura House and El Farolito.", tools=E.t("get_menu"))
E.add("parallel", calls(
    C("search_restaurants", location=("Manhattan", "Manhattan, New York", "Manhattan, NY"),
      cuisine=("japanese", "sushi"), price_level="upscale"),
    C("search_restaurants", location=("Brooklyn", "Brooklyn, New York", "Brooklyn, NY"),
      cuisine=("mexican", "tacos", "taco"), price_level="budget")),
    "Find fancy Japanese in Manhattan and cheap tacos in Brooklyn.", tools=E.t("search_restaurants"))
E.add("parallel_multiple", calls(
    C("cancel_reservation", reservation_id="RSV-771"),
    C("make_reservation", _opt=["special_requests"], restaurant="Le Petit Zinc", date="2025-06-12", time="19:30",
      party_size=2)),
    "Cancel RSV-771 and rebook us at Le Petit Zinc on Thursday at 7:30pm, 2 people, window seat if they can.",
    system=True)
E.add("parallel_multiple", calls(
    C("get_menu", restaurant="Green Fork"),
    C("search_restaurants", location=("Austin", "Austin, TX", "Austin, Texas"), dietary=["gluten_free"],
      min_rating=4.5)),
    "Does Green Fork have gluten-free stuff on the menu? Also find other gluten-free restaurants in Austin rated "
    "4.5 or higher.")
E.add("irrelevance", NO_CALL, "How do I make a sourdough starter from scratch?", system=True)
E.add("irrelevance", NO_CALL, "What's the time difference between London and Sydney?")
E.add("multi_turn", answer("18:15", "20:45", "6:15", "8:45"), messages=[
    E.sys_msg(),
    U("Book Bistro Lumière tomorrow at 19:00 for 3."),
    A(("call_e_01", "make_reservation", {"restaurant": "Bistro Lumière", "date": "2025-06-10", "time": "19:00",
                                         "party_size": 3})),
    T("call_e_01", {"status": "unavailable", "reason": "fully booked at 19:00",
                    "alternatives": ["2025-06-10T18:15", "2025-06-10T20:45"]}),
])
E.add("multi_turn", calls(C("make_reservation", restaurant="Addis Table", date="2025-06-13", time="19:00",
                            party_size=2)), messages=[
    E.sys_msg(),
    U("Find the best-rated Ethiopian place in Oakland and book it for two on Friday at 7pm."),
    A(("call_e_02", "search_restaurants", {"location": "Oakland, CA", "cuisine": "ethiopian"})),
    T("call_e_02", {"results": [
        {"name": "Abyssinia Kitchen", "rating": 4.4, "price_level": "moderate"},
        {"name": "Addis Table", "rating": 4.8, "price_level": "moderate"},
        {"name": "Blue Nile Cafe", "rating": 4.1, "price_level": "budget"}]}),
])
E.add("missing_argument", ASK, "Can you get us a table at Harbor Grill for six people?",
      tools=E.t("make_reservation"), system=True)
E.add("missing_argument", ASK, "Order a large margherita from Pizza Bella.", tools=E.t("order_delivery"))

# =========================================================================== fitness

FIT_SYS = "You are a fitness tracking assistant. Today is Monday, 9 June 2025. Use metric units."
ACTIVITIES = ["running", "cycling", "swimming", "walking", "strength", "yoga", "hiit", "rowing"]
METRICS = ["steps", "calories", "distance", "active_minutes", "sleep", "heart_rate"]
THIS_WEEK = ("2025-06-09",)
LAST_WEEK = tuple(f"2025-06-0{d}" for d in range(2, 9))
fitness = Domain("fitness", FIT_SYS, [
    fn("log_workout", "Record a workout.",
       {"activity": enum("Activity.", ACTIVITIES),
        "duration_minutes": integer("Duration in minutes.", minimum=1),
        "distance_km": number("Distance in km, where it applies.", minimum=0),
        "date": s("Date of the workout, YYYY-MM-DD. Defaults to today when omitted."),
        "intensity": enum("Perceived effort.", ["low", "moderate", "high"], default="moderate")},
       ["activity", "duration_minutes"]),
    fn("get_activity_summary", "Totals for a day, week (Mon-Sun) or month.",
       {"period": enum("Period.", ["day", "week", "month"]),
        "date": s("Any date inside the period, YYYY-MM-DD. Defaults to today when omitted."),
        "metrics": array("Metrics to report.", enum_items(METRICS), default=METRICS)},
       ["period"]),
    fn("set_goal", "Set a personal goal.",
       {"metric": enum("What to track.", ["steps", "calories_burned", "distance_km", "active_minutes", "workouts",
                                          "weight_kg"]),
        "target": number("Target value."),
        "period": enum("Period the target applies to.", ["daily", "weekly", "monthly"], default="daily")},
       ["metric", "target"]),
    fn("log_meal", "Record a meal.",
       {"meal_type": enum("Meal.", ["breakfast", "lunch", "dinner", "snack"]),
        "foods": array("What was eaten.", obj("A food.", {"name": s("Food."), "grams": number("Weight in grams.",
                                                                                             minimum=0)},
                                              ["name", "grams"]), minItems=1),
        "date": s("YYYY-MM-DD. Defaults to today when omitted.")},
       ["meal_type", "foods"]),
    fn("get_workout_plan", "Generate a weekly workout plan.",
       {"goal": enum("Main goal.", ["lose_weight", "build_muscle", "endurance", "flexibility"]),
        "days_per_week": integer("Training days per week.", minimum=1, maximum=7),
        "equipment": array("Available equipment.", enum_items(["none", "dumbbells", "barbell", "kettlebell",
                                                               "resistance_bands", "treadmill", "bike"]),
                           default=["none"]),
        "session_minutes": integer("Length of a session.", minimum=10, maximum=180, default=45)},
       ["goal", "days_per_week"]),
])
X = fitness
X.add("simple", calls(C("log_workout", _opt=["date"], activity="running", duration_minutes=27, distance_km=5,
                        date=THIS_WEEK)),
      "Log a 5k run, took me 27 minutes.", tools=X.t("log_workout"), system=True)
X.add("simple", calls(C("set_goal", metric="steps", target=10000, period="daily")),
      "Set my daily step goal to 10,000.", tools=X.t("set_goal"))
X.add("simple", calls(C("get_workout_plan", goal="build_muscle", days_per_week=4,
                        equipment=perms(["dumbbells", "barbell"]))),
      "I wanna build muscle, can train 4 days a week, got dumbbells and a barbell at home.",
      tools=X.t("get_workout_plan"))
X.add("multiple", calls(C("get_activity_summary", period="week", date=LAST_WEEK, metrics=["sleep"])),
      "How did I sleep last week? Just the sleep numbers, please.", system=True)
X.add("multiple", calls(C("log_meal", _opt=["date"], meal_type="breakfast", date=THIS_WEEK, foods=perms([
    {"name": "oats", "grams": 60}, {"name": "banana", "grams": 120}]))),
    "Breakfast today: 60g oats and a 120g banana.", system=True)
X.add("parallel", calls(
    C("log_workout", activity="yoga", duration_minutes=45, date="2025-06-08"),
    C("log_workout", _opt=["date"], activity="hiit", duration_minutes=20, intensity="high", date=THIS_WEEK)),
    "Yesterday I did 45 min of yoga, and this morning a 20 min HIIT session, pretty intense.",
    tools=X.t("log_workout"), system=True)
X.add("parallel", calls(C("set_goal", metric="workouts", target=4, period="weekly"),
                        C("set_goal", metric="active_minutes", target=45, period="daily")),
      "Set a weekly goal of 4 workouts and a daily goal of 45 active minutes.", tools=X.t("set_goal"))
X.add("parallel_multiple", calls(
    C("log_workout", _opt=["date"], activity="cycling", duration_minutes=40, distance_km=15.2, date=THIS_WEEK),
    C("get_activity_summary", _opt=["date", "metrics"], period="week", date=THIS_WEEK, metrics=["calories"])),
    "Log a 40 minute bike ride, 15.2 km, today, and tell me my calories for this week so far.", system=True)
X.add("parallel_multiple", calls(
    C("set_goal", metric="weight_kg", target=72),
    C("get_workout_plan", goal="endurance", days_per_week=3, equipment=["none"])),
    "Set a goal to get my weight down to 72 kg, and give me an endurance plan for 3 days a week with no equipment.")
X.add("irrelevance", NO_CALL, "Can you summarize the plot of Moby-Dick in a few sentences?")
X.add("irrelevance", NO_CALL, "Is it okay to drink coffee right after taking ibuprofen?", system=True)
X.add("multi_turn", answer("11482", "11,482"), messages=[
    X.sys_msg(),
    U("How many steps did I do yesterday?"),
    A(("call_x_01", "get_activity_summary", {"period": "day", "date": "2025-06-08", "metrics": ["steps"]})),
    T("call_x_01", {"period": "day", "date": "2025-06-08", "steps": 11482}),
])
X.add("multi_turn", calls(C("set_goal", metric="steps", target=(9020, 9000), period="daily")), messages=[
    X.sys_msg(),
    U("Check my average daily steps last month, then set my daily step goal 10% above that."),
    A(("call_x_02", "get_activity_summary", {"period": "month", "date": "2025-05-15", "metrics": ["steps"]})),
    T("call_x_02", {"period": "2025-05", "total_steps": 254200, "average_daily_steps": 8200}),
], derived=True)
X.add("missing_argument", ASK, "Log my swim from this morning.", tools=X.t("log_workout"), system=True)
X.add("missing_argument", ASK, "Set a new calories burned goal for me.", tools=X.t("set_goal"))

# =========================================================================== finishing


def _norm(value):
    """The spec's normalization: strings casefolded without whitespace or punctuation."""
    if isinstance(value, str):
        text = unicodedata.normalize("NFKC", value).casefold()
        return "".join(c for c in text if not c.isspace() and unicodedata.category(c)[0] not in "PZ")
    if isinstance(value, bool):
        return ("bool", value)
    if isinstance(value, (int, float)):
        return ("number", value)
    if isinstance(value, list):
        return ("list", tuple(_norm(v) for v in value))
    if isinstance(value, dict):
        return ("object", tuple(sorted((k, _norm(v)) for k, v in value.items())))
    return ("other", repr(value))


def _strings(value):
    """The string leaves of a JSON value."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)
    elif isinstance(value, dict):
        for v in value.values():
            yield from _strings(v)


def tool_params(case, name):
    for t in case["tools"]:
        if t["function"]["name"] == name:
            return t["function"]["parameters"]
    return None


def finalize(case):
    """Defaults the user did not ask about become optional (see the module docstring)."""
    if case["expected"]["kind"] != "calls":
        return
    for call in case["expected"]["calls"]:
        props = tool_params(case, call["name"])["properties"]
        optional = list(call["optional"])
        for arg, schema in props.items():
            if "default" not in schema or arg in optional:
                continue
            if arg not in call["arguments"] or any(_norm(v) == _norm(schema["default"]) for v in call["arguments"][arg]):
                optional.append(arg)
        call["optional"] = optional


def build():
    for case in CASES:
        finalize(case)
    text = "".join(json.dumps(c, ensure_ascii=False) + "\n" for c in CASES)
    OUT.write_text(text, encoding="utf-8")
    print(f"wrote {len(CASES)} cases to {OUT}")


# =========================================================================== checks


def check(path=OUT):
    from jsonschema.validators import validator_for

    errors = []

    def err(case_id, msg):
        errors.append(f"{case_id}: {msg}")

    def validates(schema, value):
        try:
            return not list(validator_for(schema)(schema).iter_errors(value))
        except Exception:  # noqa: BLE001 - a broken schema (reported apart) validates nothing
            return False

    cases = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        try:
            cases.append(json.loads(line))
        except json.JSONDecodeError as exc:
            errors.append(f"line {n}: not JSON ({exc})")
    ids = Counter(c.get("id") for c in cases)
    for case_id, k in ids.items():
        if k > 1:
            err(case_id, f"id used {k} times")

    for c in cases:
        cid, cat = c.get("id"), c.get("category")
        if cat not in CATEGORIES:
            err(cid, f"unknown category {cat!r}")
        if ("prompt" in c) == ("messages" in c):
            err(cid, "needs exactly one of prompt / messages")
        text = json.dumps(c).lower()
        if "drone" in text:
            err(cid, "mentions drones")
        names = []
        for t in c["tools"]:
            f = t.get("function", {})
            if t.get("type") != "function" or not f.get("name") or not f.get("description"):
                err(cid, f"malformed tool {t!r:.60}")
                continue
            names.append(f["name"])
            params = f["parameters"]
            try:
                validator_for(params).check_schema(params)
            except Exception as exc:  # noqa: BLE001 - report any schema error
                err(cid, f"tool {f['name']}: invalid schema: {exc}")
            for r in params.get("required", []):
                if r not in params["properties"]:
                    err(cid, f"tool {f['name']}: required {r!r} not in properties")
            for arg, sch in params["properties"].items():
                if "default" in sch and not validates(sch, sch["default"]):
                    err(cid, f"tool {f['name']}.{arg}: default does not validate")
        if len(set(names)) != len(names):
            err(cid, "duplicate tool names")

        exp = c["expected"]
        kind = exp.get("kind")
        want_kind = {"irrelevance": {"no_call"}, "missing_argument": {"ask"}, "multi_turn": {"answer", "calls"}}.get(
            cat, {"calls"})
        if kind not in want_kind:
            err(cid, f"category {cat} with expected kind {kind}")
        if kind == "answer" and not [m for m in exp.get("mentions", []) if _norm(str(m))]:
            err(cid, "answer without usable mentions")

        if kind == "calls":
            ecalls = exp["calls"]
            cnames = [e["name"] for e in ecalls]
            shape = {"simple": len(ecalls) == 1 and len(names) == 1,
                     "multiple": len(ecalls) == 1 and len(names) >= 2,
                     "parallel": len(ecalls) >= 2 and len(set(cnames)) == 1,
                     "parallel_multiple": len(ecalls) >= 2 and len(set(cnames)) >= 2,
                     "multi_turn": True}.get(cat, False)
            if not shape:
                err(cid, f"{cat}: {len(ecalls)} call(s) to {cnames} with {len(names)} tool(s) offered")
            for e in ecalls:
                params = tool_params(c, e["name"])
                if params is None:
                    err(cid, f"expected call to {e['name']!r}, not among the tools")
                    continue
                props, required = params["properties"], params.get("required", [])
                opt = set(e.get("optional", []))
                for o in opt:
                    if o not in props:
                        err(cid, f"{e['name']}: optional {o!r} is not a parameter")
                for r in required:
                    if r not in e["arguments"] or r in opt:
                        err(cid, f"{e['name']}: required {r!r} missing or optional")
                first = {}
                for arg, values in e["arguments"].items():
                    if arg not in props:
                        err(cid, f"{e['name']}: unknown argument {arg!r}")
                        continue
                    if not isinstance(values, list) or not values:
                        err(cid, f"{e['name']}.{arg}: acceptable values must be a non-empty list")
                        continue
                    for v in values:
                        if not validates(props[arg], v):
                            err(cid, f"{e['name']}.{arg}: acceptable {v!r} fails the schema")
                    if arg not in opt:
                        first[arg] = values[0]
                if not validates(params, first):
                    err(cid, f"{e['name']}: the first acceptable values do not form a valid call")

        if "messages" in c:
            msgs = c["messages"]
            pending = {}
            answered = set()
            for m in msgs:
                if m["role"] == "assistant":
                    for tc in m.get("tool_calls") or []:
                        fname = tc["function"]["name"]
                        args = json.loads(tc["function"]["arguments"])
                        params = tool_params(c, fname)
                        if params is None:
                            err(cid, f"history calls {fname!r}, not among the tools")
                        elif not validates(params, args):
                            err(cid, f"history call {tc['id']} has invalid arguments")
                        if not tc.get("id") or tc["id"] in pending or tc["id"] in answered:
                            err(cid, f"history call id {tc.get('id')!r} missing or reused")
                        pending[tc["id"]] = fname
                elif m["role"] == "tool":
                    tid = m.get("tool_call_id")
                    if tid not in pending:
                        err(cid, f"tool result {tid!r} answers no open call")
                    else:
                        answered.add(tid)
                        del pending[tid]
            if pending:
                err(cid, f"unanswered calls {sorted(pending)}")
            if cat == "multi_turn":
                if not answered:
                    err(cid, "multi_turn without a tool result")
                if msgs[-1]["role"] not in ("tool", "user"):
                    err(cid, "history should end with a tool result or a user turn")
                results = " ".join(_norm(m["content"]) for m in msgs if m["role"] == "tool")
                leaves = {_norm(x) for m in msgs if m["role"] == "tool" for x in _strings(json.loads(m["content"]))}
                leaves = {x for x in leaves if len(x) >= 5}
                if kind == "answer" and not any(_norm(str(x)) in results for x in exp["mentions"]):
                    err(cid, "no mention is grounded in a tool result")
                if kind == "calls" and cid not in DERIVED:
                    vals = [v for e in exp["calls"] for vs in e["arguments"].values() for v in vs]
                    def found(v):
                        if isinstance(v, (int, float)) and not isinstance(v, bool):
                            return _norm(str(v)) in results or _norm(str(float(v))) in results
                        if not isinstance(v, str) or len(_norm(v)) < 3:
                            return False  # a value copied whole, or one holding a result's string (a file name)
                        return _norm(v) in results or any(leaf in _norm(v) for leaf in leaves)
                    if not any(found(v) for v in vals):
                        err(cid, "follow-up call uses no value from the tool result")

    # Self-consistency with the project's scorer, where it exists: a reply made of the
    # first acceptable values must score full marks; nothing must pass an empty reply.
    try:
        from functionary.eval.scoring import score_case
        from functionary.eval.dataset import from_case
    except ImportError:
        score_case = None
    if score_case is not None:
        for c in cases:
            case = from_case(c, c["id"])
            exp = c["expected"]
            if exp["kind"] == "calls":
                tcs = [{"id": f"c{i}", "type": "function", "function": {"name": e["name"], "arguments": json.dumps(
                    {a: v[0] for a, v in e["arguments"].items() if a not in e["optional"]})}}
                    for i, e in enumerate(exp["calls"])]
                reply = {"role": "assistant", "content": None, "tool_calls": tcs}
            elif exp["kind"] == "answer":
                reply = {"role": "assistant", "content": f"Result: {exp['mentions'][0]}."}
            else:
                reply = {"role": "assistant", "content": "Could you tell me a bit more?"}
            try:
                sc = score_case(case, reply)
            except Exception as exc:  # noqa: BLE001 - a case the scorer cannot handle is a problem
                err(c["id"], f"the scorer fails on it: {exc!r}")
                continue
            if not sc.full_ok or sc.valid_calls != sc.calls:
                err(c["id"], f"an ideal reply does not score full marks: {sc.reasons}")
            if exp["kind"] in ("calls", "answer") and score_case(case, {"role": "assistant", "content": "ok"}).full_ok:
                err(c["id"], "an empty reply scores full marks")

    per_cat = Counter(c["category"] for c in cases)
    per_dom = Counter(c.get("domain") for c in cases)
    grid = defaultdict(Counter)
    for c in cases:
        grid[c.get("domain")][c["category"]] += 1
    for dom, row in grid.items():
        for cat in CATEGORIES:
            if not row[cat]:
                err(dom, f"has no {cat} case")
    if len(cases) < 160:
        errors.append(f"only {len(cases)} cases")
    if len(per_dom) < 10:
        errors.append(f"only {len(per_dom)} domains")
    for cat in CATEGORIES:
        if per_cat[cat] < 15:
            errors.append(f"category {cat}: only {per_cat[cat]} cases")

    short = {"simple": "simp", "multiple": "mult", "parallel": "par", "parallel_multiple": "p_mul",
             "irrelevance": "irr", "multi_turn": "m_turn", "missing_argument": "miss"}
    print(f"{'domain':12s} " + " ".join(f"{short[c]:>6s}" for c in CATEGORIES) + "  total")
    for dom in grid:
        print(f"{dom:12s} " + " ".join(f"{grid[dom][c]:6d}" for c in CATEGORIES) + f"  {per_dom[dom]:5d}")
    print(f"{'total':12s} " + " ".join(f"{per_cat[c]:6d}" for c in CATEGORIES) + f"  {len(cases):5d}")
    kinds = Counter(c["expected"]["kind"] for c in cases if c["category"] == "multi_turn")
    print(f"multi_turn kinds: {dict(kinds)}; with system prompt: "
          f"{sum(1 for c in cases if 'system' in c or (c.get('messages') or [{}])[0].get('role') == 'system')}")
    print(f"scorer self-check: {'done' if score_case else 'skipped (functionary.eval.scoring not importable)'}")
    if errors:
        print(f"\n{len(errors)} problem(s):")
        for e in errors:
            print("  " + e)
        return False
    print("all checks passed")
    return True


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--check", action="store_true", help="only check the existing file")
    args = p.parse_args()
    if not args.check:
        build()
    sys.exit(0 if check() else 1)


if __name__ == "__main__":
    main()
