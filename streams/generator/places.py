"""Where problems happen: a deterministic street model per municipality, so addresses and coordinates agree.

Every municipality has its streets (names from `STREET_NAMES`, the capital all of them, the other
municipalities a fixed subset). A street is a straight line: an origin within a few kilometres of the
municipality's centre, a bearing, and houses 1..n every `HOUSE_SPACING_M` metres along it. The model is a
pure function of the municipality code and the street name (seeded by them, never by the run's seed), so
"ул. Ленина, д. 5" of Калуга is the same point in every run, every day and every feed.

A `Place` is a building (street + house), a point on a street (between houses, written as the nearest
house), or a street segment (houses a..b: snow, lighting). The writers below render a place as each source
writes it: residents in their own words (POS), a dispatcher's free text (112), the inspectorate's formal
building address (ГЖИ), a camera's coordinates (Safe City, and POS with a GPS fix).
"""

from __future__ import annotations

import math
import random
import zlib
from dataclasses import dataclass
from functools import cache

from cur import taxonomy
from streams.generator import texts

HOUSE_SPACING_M = 10.0
METRES_PER_DEGREE = 111_320.0
CAPITAL = "29701000"
# (lat, lon) of each municipality's centre.
CENTRES = {
    "29701000": (54.5138, 36.2612),
    "29715000": (55.0968, 36.6101),
    "29606000": (55.2079, 36.4870),
    "29623000": (55.0113, 35.8792),
    "29620000": (53.8672, 34.4463),
    "29616000": (54.0353, 35.7817),
    "29615000": (54.0793, 34.3076),
    "29612000": (55.0307, 36.7453),
    "29638000": (54.0976, 35.3437),
    "29639000": (54.7240, 37.1753),
}
TOWNS = {"29701000", "29715000"}  # written "г. Калуга"; the others are districts ("Боровский район")
# Names in the genitive take any street type; adjectives agree with their own type.
GENITIVE = (
    "Ленина", "Кирова", "Гагарина", "Суворова", "Пушкина", "Чехова", "Горького", "Циолковского", "Королёва",
    "Жукова", "Дзержинского", "Баумана", "Никитина", "Маяковского", "Лермонтова", "Толстого", "Тургенева",
    "Некрасова", "Чкалова", "Фрунзе", "Калинина", "Куйбышева", "Ломоносова", "Менделеева", "Попова",
    "Островского", "Гоголя", "Герцена", "Радищева", "Кутузова", "Матросова", "Щорса", "Чапаева", "Ватутина",
    "Рокоссовского", "Энгельса", "Карла Маркса", "Карла Либкнехта", "Володарского", "Луначарского", "Пирогова",
    "Мичурина", "Чернышевского", "Добролюбова", "Белинского", "Есенина", "Шевченко", "Достоевского",
    "Грибоедова", "Крылова", "Державина", "Глинки", "Чайковского", "Тимирязева", "Плеханова", "Огарёва",
    "Болотникова", "Мира", "Победы", "Труда", "Строителей", "Энергетиков", "Металлистов", "Космонавтов",
    "Пионеров", "Декабристов", "Молодой Гвардии", "Марата", "Салтыкова-Щедрина", "Степана Разина",
    "Азарова", "Аксёнова", "Беляева", "Богдановой", "Вавилова", "Ванеева", "Гурьянова", "Дарвина", "Дружбы",
    "Ерёменко", "Жореса", "Карпова", "Киселёва", "Комарова", "Коновалова", "Краснова", "Кукареко", "Михалёва",
    "Немцова", "Новаторов", "Одоевского", "Осипенко", "Папанина", "Пестеля", "Петра Тарасова", "Пухова",
    "Рылеева", "Салтыкова", "Серафимовича", "Стекольщиков", "Тельмана", "Фомушина", "Хрящёва", "Чижевского",
    "Шахтёров", "Щепкина", "Яблочкова", "Академика Королёва", "Генерала Попова", "Маршала Жукова", "Вишневского",
    "Кропоткина", "Лелюшенко", "Труфанова", "Болдина", "Баррикад", "Революции", "Свободы", "Коммуны",
    "Нахимова", "Ушакова", "Макаренко", "Ленинского комсомола", "Космонавта Пацаева",
    "Академика Павлова", "Титова", "Терешковой", "Зои Космодемьянской", "Маресьева",
)  # fmt: skip
FEMININE = (
    "Московская", "Советская", "Садовая", "Лесная", "Полевая", "Молодёжная", "Заречная", "Набережная",
    "Октябрьская", "Комсомольская", "Пролетарская", "Первомайская", "Школьная", "Центральная", "Новая",
    "Луговая", "Солнечная", "Зелёная", "Парковая", "Вокзальная", "Рабочая", "Колхозная", "Песочная",
    "Береговая", "Тульская", "Смоленская", "Рязанская", "Никольская", "Спасская", "Покровская", "Подгорная",
    "Речная", "Огородная", "Сиреневая", "Весенняя", "Звёздная", "Степная", "Кооперативная", "Северная",
    "Южная", "Фабричная", "Заводская", "Театральная", "Кузнечная", "Кирпичная",
)  # fmt: skip
MASCULINE = (
    "Школьный", "Садовый", "Лесной", "Полевой", "Почтовый", "Банный", "Кирпичный", "Речной", "Тихий",
    "Светлый", "Зелёный", "Пионерский", "Северный", "Южный", "Больничный", "Аптечный", "Заводской", "Торговый",
)  # fmt: skip
# Street type as written in an address, in full, and whether the type comes after the name in full writing.
STREET_TYPES = {"ул.": "улица", "пер.": "переулок", "проезд": "проезд", "пр-т": "проспект", "б-р": "бульвар"}


@dataclass(frozen=True)
class StreetName:
    kind: str  # abbreviation: "ул.", "пер.", ...
    core: str  # "Ленина", "Садовая"
    ordinal: str = ""  # "2-й" of "2-й пер. Школьный"

    @property
    def name(self) -> str:
        """As an official register writes it: "ул. Ленина", "2-й пер. Школьный"."""
        return f"{self.ordinal} {self.kind} {self.core}".lstrip()

    @property
    def full(self) -> str:
        """The type in full: "улица"."""
        return STREET_TYPES[self.kind]

    @property
    def bare(self) -> str:
        """The name without its type, as people say it: "Ленина", "2-й Школьный"."""
        return f"{self.ordinal} {self.core}".lstrip()


def _street_names() -> tuple[StreetName, ...]:
    names = [StreetName("ул.", core) for core in GENITIVE]
    names += [StreetName(kind, core) for kind in ("пер.", "проезд", "пр-т", "б-р") for core in GENITIVE]
    names += [StreetName("ул.", core) for core in FEMININE]
    names += [StreetName(kind, core) for kind in ("пер.", "проезд") for core in MASCULINE]
    names += [StreetName(kind, core, n) for n in ("2-й", "3-й") for kind in ("пер.", "проезд") for core in MASCULINE]
    return tuple(names)


STREET_NAMES = _street_names()
STREETS_OUTSIDE_CAPITAL = 250  # a district centre has fewer streets than the regional capital


@dataclass(frozen=True)
class Street:
    municipality: str
    street: StreetName
    lat0: float  # house 0
    lon0: float
    bearing: float  # radians, from north towards east
    houses: int

    def at(self, position: float) -> tuple[float, float]:
        """The point `position` house spacings along the street (house n sits at n)."""
        metres = position * HOUSE_SPACING_M
        return _offset(self.lat0, self.lon0, metres * math.cos(self.bearing), metres * math.sin(self.bearing))


def _offset(lat: float, lon: float, north_m: float, east_m: float) -> tuple[float, float]:
    return (
        lat + north_m / METRES_PER_DEGREE,
        lon + east_m / (METRES_PER_DEGREE * math.cos(math.radians(lat))),
    )


@cache
def streets(municipality: str) -> tuple[Street, ...]:
    """The municipality's streets, the same in every run (seeded by the municipality and the street name)."""
    chosen = STREET_NAMES
    if municipality != CAPITAL:
        chosen = tuple(random.Random(f"streets:{municipality}").sample(STREET_NAMES, STREETS_OUTSIDE_CAPITAL))
    lat, lon = CENTRES[municipality]
    spread_m, longest = (7000.0, 400) if municipality == CAPITAL else (3000.0, 200)
    made = []
    for name in chosen:
        rng = random.Random(f"street:{municipality}:{name.name}")
        lat0, lon0 = _offset(lat, lon, rng.uniform(-spread_m, spread_m), rng.uniform(-spread_m, spread_m))
        made.append(Street(municipality, name, lat0, lon0, rng.uniform(0, 2 * math.pi), rng.randint(30, longest)))
    return tuple(made)


@dataclass(frozen=True)
class Place:
    """A building (`first == last`, whole house), a point on a street (`position` between houses), or a
    segment of a street (houses `first`..`last`). `lat`, `lon` are its centre."""

    kind: str  # "building", "point" or "segment"
    street: Street
    position: float  # in house spacings along the street: the centre of the place
    first: int  # the house written in its address (for a segment, its first house)
    last: int  # = first, except for a segment

    @property
    def municipality(self) -> str:
        return self.street.municipality

    @property
    def point(self) -> tuple[float, float]:
        lat, lon = self.street.at(self.position)
        return round(lat, 6), round(lon, 6)

    @property
    def extent_m(self) -> float:
        """Half the length of a segment (0 for a building or a point): how far its reports may lie apart."""
        return (self.last - self.first) * HOUSE_SPACING_M / 2

    def management_company(self) -> tuple[str, str]:
        """The building's management company (name, INN): the same in every report and every run."""
        key = f"{self.municipality}:{self.street.street.name}:{self.first}".encode()
        return texts.COMPANIES[zlib.crc32(key) % len(texts.COMPANIES)]

    def near(self, rng: random.Random, metres: float) -> tuple[float, float]:
        """A point where a camera or a phone puts it: somewhere on the place, within `metres` of it."""
        position = rng.uniform(self.first, self.last) if self.kind == "segment" else self.position
        lat, lon = self.street.at(position)
        angle, radius = rng.uniform(0, 2 * math.pi), metres * math.sqrt(rng.random())
        lat, lon = _offset(lat, lon, radius * math.cos(angle), radius * math.sin(angle))
        return round(lat, 6), round(lon, 6)


def building(street: Street, house: int) -> Place:
    return Place("building", street, float(house), house, house)


def point(street: Street, position: float) -> Place:
    house = min(max(1, round(position)), street.houses)
    return Place("point", street, position, house, house)


def segment(street: Street, first: int, last: int) -> Place:
    return Place("segment", street, (first + last) / 2, first, last)


def random_place(rng: random.Random, kind: str, municipality: str) -> Place:
    """A place of the given kind anywhere in the municipality."""
    street = rng.choice(streets(municipality))
    if kind == "building":
        return building(street, rng.randint(1, street.houses))
    if kind == "point":
        return point(street, round(rng.uniform(1, street.houses), 1))
    first = rng.randint(1, max(1, street.houses - 15))
    return segment(street, first, min(street.houses, first + rng.randint(3, 12)))


# --- how each source writes a place ------------------------------------------------------------------------


def municipality_name(municipality: str) -> str:
    return taxonomy.municipalities()[municipality]


def official_address(place: Place) -> str:
    """The inspectorate's register: "Калуга, ул. Ленина, д. 5" (always the same for one building)."""
    return f"{municipality_name(place.municipality)}, {place.street.street.name}, д. {place.first}"


def _street_words(rng: random.Random, street: StreetName) -> str:
    """The street as people write it: "ул. Ленина", "улица Ленина", "Ленина", "Ленина ул.", "Садовая улица"."""
    return rng.choice(
        (street.name, f"{street.ordinal} {street.full} {street.core}".lstrip(), street.bare,
         f"{street.bare} {street.kind}", f"{street.bare} {street.full}")
    )  # fmt: skip


def _house_words(rng: random.Random, house: int) -> str:
    return rng.choice((f"д. {house}", f"дом {house}", f"д.{house}", str(house)))


def resident_address(rng: random.Random, place: Place) -> str:
    """A POS resident's own words, with or without the municipality: "Ленина 5", "улица Ленина дом 5 кв 12"."""
    street = _street_words(rng, place.street.street)
    house = _house_words(rng, place.first)
    if place.kind == "building":
        written = rng.choice((f"{street}, {house}", f"{street} {house}", f"{street}, {house}"))
        if rng.random() < 0.25:
            written += rng.choice((f" кв {rng.randint(1, 120)}", f", кв. {rng.randint(1, 120)}"))
    elif place.kind == "point":
        written = rng.choice(
            (f"{street}, {house}", f"{street}, около дома {place.first}", f"{street} напротив д. {place.first}",
             f"{street} (у дома {place.first})")
        )  # fmt: skip
    else:
        house = _house_words(rng, rng.randint(place.first, place.last))
        written = rng.choice(
            (f"{street}, от д. {place.first} до д. {place.last}", f"{street}, {house}",
             f"{street} в районе домов {place.first}-{place.last}")
        )  # fmt: skip
    roll = rng.random()
    name = municipality_name(place.municipality)
    if roll < 0.35:
        return written
    if roll < 0.5 and place.municipality in TOWNS:
        return f"г. {name}, {written}"
    return f"{name}, {written}"


def dispatcher_address(rng: random.Random, place: Place, detail: str) -> str:
    """A 112 dispatcher's free text: the municipality, the street and house, and where exactly."""
    name = municipality_name(place.municipality)
    street = place.street.street.name
    if place.kind == "building":
        where = f"д. {place.first}"
    elif place.kind == "point":
        where = rng.choice((f"д. {place.first}", f"в районе д. {place.first}"))
    else:
        where = f"д. {rng.randint(place.first, place.last)}"
    if rng.random() < 0.2:
        return f"{name}, {street} {where.replace('д. ', 'д.')} {detail}"
    return f"{name}, {street}, {where}, {detail}"
