"""Countries and cities by name: the one table that planning, its checks and questions read.

The CDP stores ISO alpha-2 country codes and city names as `cdp.seed` spells them. Planning (the
offline reader and the check of a real model's interpretation) maps a marketer's words onto these;
questions show `COUNTRY_DISPLAY` names. Data only: `cdp.names` joins these names with every ISO
3166 name and its translations, for files and objectives alike.
"""

from __future__ import annotations


def _w(text: str) -> tuple[str, ...]:
    return tuple(p.strip() for p in text.split(",") if p.strip())


def _pairs(text: str) -> dict[str, str]:
    return dict(p.split("=", 1) for p in _w(text))  # type: ignore[misc]


#: ISO alpha-2 code: (names, adjectives and demonyms). Names always mean the country; adjectives
#: mean the country before a customer noun and the language in "German-speaking".
COUNTRIES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "US": (_w("united states, united states of america, usa, america, the states"), _w("american")),
    "GB": (_w("united kingdom, uk, great britain, britain"), _w("british, brit, scottish, welsh")),
    "DE": (_w("germany, deutschland"), _w("german")),
    "FR": (_w("france"), _w("french")),
    "ES": (_w("spain"), _w("spanish, spaniard")),
    "IT": (_w("italy"), _w("italian")),
    "NL": (_w("netherlands, the netherlands, holland"), _w("dutch")),
    "BR": (_w("brazil, brasil"), _w("brazilian")),
    "JP": (_w("japan"), _w("japanese")),
    "CA": (_w("canada"), _w("canadian")),
    "BE": (_w("belgium"), _w("belgian")),
    "AT": (_w("austria"), _w("austrian")),
    "CH": (_w("switzerland"), _w("swiss")),
    "SE": (_w("sweden"), _w("swedish, swede")),
    "NO": (_w("norway"), _w("norwegian")),
    "DK": (_w("denmark"), _w("danish, dane")),
    "FI": (_w("finland"), _w("finnish, finn")),
    "IE": (_w("ireland, republic of ireland"), _w("irish")),
    "PT": (_w("portugal"), _w("portuguese")),
    "PL": (_w("poland"), _w("polish, pole")),
    "CZ": (_w("czechia, czech republic"), _w("czech")),
    "GR": (_w("greece"), _w("greek")),
    "HU": (_w("hungary"), _w("hungarian")),
    "RO": (_w("romania"), _w("romanian")),
    "MX": (_w("mexico"), _w("mexican")),
    "AR": (_w("argentina"), _w("argentinian, argentine")),
    "CO": (_w("colombia"), _w("colombian")),
    "AU": (_w("australia"), _w("australian, aussie")),
    "NZ": (_w("new zealand"), _w("kiwi")),
    "IN": (_w("india"), _w("indian")),
    "KR": (_w("south korea, korea"), _w("korean, south korean")),
    "SG": (_w("singapore"), _w("singaporean")),
    "AE": (_w("united arab emirates, uae, emirates"), _w("emirati")),
    "ZA": (_w("south africa"), _w("south african")),
    "IL": (_w("israel"), _w("israeli")),
    "SA": (_w("saudi arabia"), _w("saudi")),
    "EG": (_w("egypt"), _w("egyptian")),
    "NG": (_w("nigeria"), _w("nigerian")),
    "KE": (_w("kenya"), _w("kenyan")),
    "LU": (_w("luxembourg"), _w("")),
    "CN": (_w("china, mainland china"), _w("chinese")),
    "TR": (_w("turkey, turkiye, türkiye"), _w("turkish")),
    "CL": (_w("chile"), _w("chilean")),
}

#: English names ISO 3166 does not list (it has "Russian Federation", "Côte d'Ivoire", "Myanmar"):
#: files and objectives use these too. Every ISO name and its translations are read besides
#: (`cdp.names`).
COUNTRY_ALSO_CALLED: dict[str, str] = _pairs(
    "russia=RU, ivory coast=CI, macedonia=MK, swaziland=SZ, burma=MM, cape verde=CV, east timor=TL, "
    "vatican=VA, vatican city=VA, palestine=PS, micronesia=FM, macau=MO, brunei=BN, dr congo=CD, "
    "drc=CD, democratic republic of congo=CD, congo kinshasa=CD, republic of the congo=CG, "
    "congo brazzaville=CG, the gambia=GM, the bahamas=BS, the philippines=PH, slovak republic=SK, "
    "kyrgyz republic=KG"
)

#: A code in wide use that ISO 3166-1 does not assign (the EU, CLDR and libphonenumber write Kosovo
#: as XK), with its name: files read both.
COUNTRY_CODES_UNASSIGNED: dict[str, str] = _pairs("XK=Kosovo")

#: Country names that are also ordinary words: they count only when capitalised in the objective.
#: (Every one-word name beyond `COUNTRIES` and `COUNTRY_ALSO_CALLED` needs a capital as well.)
COUNTRY_NAMES_NEED_CAPITAL = _w(
    "turkey, chile, china, america, pole, finn, dane, kiwi, swede, chad, jordan, georgia, jersey, "
    "guernsey, guinea, niger, mali, panama, reunion, bermuda"
)

#: Country names in other languages that are English words or names ("Suède" is Sweden, "Chili"
#: Chile, "Island" Iceland): a file's country column reads them, an objective (in English) does not.
COUNTRY_NAMES_NOT_IN_OBJECTIVES = _w(
    "island, suede, chili, chine, grenade, granada, salvador, norfolk, columbia, maurice, dominique, "
    "georgie, toga"
)

#: Places inside a country: the CDP stores countries (and cities), so these get a question.
SUBNATIONAL: dict[str, str] = _pairs(
    "england=GB, scotland=GB, wales=GB, northern ireland=GB, california=US, texas=US, florida=US, "
    "new york state=US, bavaria=DE, catalonia=ES, ontario=CA, quebec=CA, british columbia=CA, "
    "andalusia=ES, lombardy=IT, tuscany=IT, provence=FR, brittany=FR, normandy=FR, flanders=BE, "
    "wallonia=BE, queensland=AU, new south wales=AU, victoria=AU"
)

#: Two-letter codes accepted when written in capitals ("US customers", "in the UK").
COUNTRY_CODES_UPPER = _pairs("US=US, UK=GB, USA=US, UAE=AE, GB=GB")

#: Country names shown in questions ("the CDP has customers in: Germany, ...").
COUNTRY_DISPLAY: dict[str, str] = _pairs(
    "US=the United States, GB=the United Kingdom, DE=Germany, FR=France, ES=Spain, IT=Italy, "
    "NL=the Netherlands, BR=Brazil, JP=Japan, CA=Canada, BE=Belgium, AT=Austria, CH=Switzerland, "
    "SE=Sweden, NO=Norway, DK=Denmark, FI=Finland, IE=Ireland, PT=Portugal, PL=Poland, CZ=Czechia, "
    "GR=Greece, HU=Hungary, RO=Romania, MX=Mexico, AR=Argentina, CO=Colombia, AU=Australia, "
    "NZ=New Zealand, IN=India, KR=South Korea, SG=Singapore, AE=the United Arab Emirates, "
    "ZA=South Africa, IL=Israel, SA=Saudi Arabia, EG=Egypt, NG=Nigeria, KE=Kenya, LU=Luxembourg, "
    "CN=China, TR=Turkey, CL=Chile"
)

#: Cities (as the CDP spells them) and their country; "customers in Berlin" narrows by city.
CITIES: dict[str, str] = _pairs(
    "New York=US, Los Angeles=US, Chicago=US, Houston=US, Seattle=US, San Francisco=US, Boston=US, "
    "Miami=US, London=GB, Manchester=GB, Birmingham=GB, Leeds=GB, Glasgow=GB, Berlin=DE, Munich=DE, "
    "Hamburg=DE, Cologne=DE, Frankfurt=DE, Paris=FR, Lyon=FR, Marseille=FR, Toulouse=FR, Lille=FR, "
    "Madrid=ES, Barcelona=ES, Valencia=ES, Seville=ES, Rome=IT, Milan=IT, Naples=IT, Turin=IT, "
    "Amsterdam=NL, Rotterdam=NL, Utrecht=NL, The Hague=NL, Sao Paulo=BR, São Paulo=BR, "
    "Rio de Janeiro=BR, Belo Horizonte=BR, Curitiba=BR, Tokyo=JP, Osaka=JP, Yokohama=JP, Nagoya=JP, "
    "Toronto=CA, Montreal=CA, Vancouver=CA, Calgary=CA, Mexico City=MX, Panama City=PA, "
    "Kuwait City=KW, Guatemala City=GT"
)

#: Spellings that name the same city as the CDP's spelling.
CITY_ALIASES: dict[str, str] = _pairs(
    "nyc=New York, la=Los Angeles, münchen=Munich, köln=Cologne, rio=Rio de Janeiro, sf=San Francisco"
)
