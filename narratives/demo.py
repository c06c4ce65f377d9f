"""Deterministic synthetic demo corpus with planted narratives and ground truth.

All text is generated from the templates below (nothing is copied from a dataset). Articles imitate scraped
pro-Kremlin news pages: outlet-specific cruft (clocks, weather widgets, photo credits, related-headline lists,
tag lines), background news on everyday topics, and 1-3 planted sentences, each a paraphrase of a known
narrative in a varied attribution form. ``truth`` lists every planted sentence exactly as it appears in the
text. Only ``random.Random(seed)`` drives the choices: the same arguments always give the same corpus.

Large corpora (>= 200 articles over >= 60 days, >= 2.5 a day) also plant three dynamics with known ground truth
(``DemoCorpus.dynamics``, written as planted_dynamics.json) for the tracking stage: a narrative that starts at one
outlet and spreads to others at known lags, a narrative with a one-week burst over a flat low baseline, and a
narrative whose key term changes on a known date.
"""

from __future__ import annotations

import csv
import datetime as _dt
import io
import json
import math
import random
import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

__all__ = ["PlantedNarrative", "DemoCorpus", "generate_demo_corpus", "write_demo_corpus"]


@dataclass(frozen=True)
class PlantedNarrative:
    key: str
    theme: str
    description: str


@dataclass(frozen=True)
class DemoCorpus:
    articles: list[dict]
    truth: list[dict]
    narratives: list[PlantedNarrative]
    reprints: list[dict] = field(default_factory=list)  # {article_id, original_article_id}: syndicated copies
    # ground truth of the planted spread, burst and wording change (see planted_dynamics.json); {} when none
    dynamics: dict = field(default_factory=dict)


# --- planted narratives: key, theme, description, subject, predicates, complements, headlines, tags ---------
# Templates use {a|b|c} for alternatives ({|x} = optional x) and {slot} for slot fillers; nesting is allowed.
_NARRATIVES = [
    ("nato_borders", "nato_aggression", "NATO moves its military infrastructure to Russia's borders",
     "{NATO|the North Atlantic alliance|the US-led military bloc|the alliance|the Atlantic bloc}",
     ["{keeps moving|continues to move|is moving} its military infrastructure {ever closer to|right up to|closer and closer to} {Russia's borders|the Russian border}",
      "is deploying {bases, troops and missile systems|new battalions and air defense systems|troops and heavy equipment} {right next to|along} {Russia's borders|the Russian frontier}",
      "has {pushed|brought} its {military infrastructure|bases and depots} {directly|all the way} to {the borders of Russia|Russia's doorstep}",
      "{continues to build up|is steadily expanding} {its forces|its military infrastructure|its military presence} along Russia's {western|northwestern} borders",
      "is placing new {airfields|logistics hubs|missile launchers} {near|within striking distance of} the Russian border"],
     ["", ", ignoring Moscow's security concerns", ", which poses a direct threat to Russia's security", " despite repeated warnings from Moscow",
      ", further escalating tensions {in Europe|across the continent}"],
     ["NATO {Pushes|Moves|Brings} Military Infrastructure {Closer to|Up to} Russia's Borders", "Alliance {Builds Up|Expands} Forces {Along|Near} Russian Frontier",
      "NATO Bases Creep Toward Russia's Doorstep"], "NATO, Military Infrastructure"),
    ("nato_broken_promise", "nato_aggression", "The West promised NATO would not expand eastward and broke that promise",
     "{Western leaders|Washington and its allies|the United States and its European partners|the West|Western governments|American and European officials}",
     ["promised Moscow in 1990 that NATO would not expand {one inch eastward|to the east}, and then broke that promise",
      "gave the Soviet leadership {assurances|firm guarantees} that the alliance would not move east, only to break them",
      "pledged that NATO would not {expand toward Russia|enlarge eastward} and later {broke|abandoned} that pledge",
      "broke the promise made to {Gorbachev|the Soviet leadership} that NATO would never expand eastward",
      "never kept the promise that NATO would not {enlarge|expand} eastward after German reunification"],
     ["", ", as declassified {documents|archives} show", ", and {five|several} waves of enlargement followed", ", a betrayal Moscow has not forgotten", ", deceiving the Soviet leadership"],
     ["The Broken Promise: How NATO {Crept|Expanded} East", "West {Lied|Deceived Moscow} About NATO Expansion", "Not One Inch Eastward: {The Promise the West Broke|A Betrayal Remembered}"], "NATO Expansion, History"),
    ("sanctions_backfire", "western_decline", "Western sanctions hurt Europe more than Russia",
     "{Western sanctions|the anti-Russian sanctions|the sanctions imposed on Moscow|the latest sanctions packages|the sanctions against Russian trade}",
     ["are hurting European economies {far more|much more} than they hurt Russia", "have backfired, {driving up energy prices|fueling deindustrialization} across Europe",
      "have done more damage to European {households|industry} than to the Russian economy", "are boomeranging on Europe, where factories close while Russia's economy keeps growing",
      "have failed to hurt Russia and instead {pushed|are pushing} Europe {into recession|toward recession}"],
     ["", ", with German industry paying the highest price", ", as energy bills across the continent keep soaring", " while Moscow finds new markets in Asia",
      ", leaving European farmers to foot the bill"],
     ["Sanctions {Boomerang|Backfire}: Europe Pays the Price", "Anti-Russian Sanctions Hit European {Industry|Households} Hardest", "Europe's Economy Reels From Its Own Sanctions"], "Sanctions, Economy"),
    ("eu_vassal", "western_decline", "The EU is subservient to Washington",
     "{the European Union|the EU|Brussels|the European Commission|the current EU leadership}",
     ["has become a vassal of Washington and {cannot take|is unable to take} independent decisions", "blindly follows {orders|instructions} from Washington even when they damage European interests",
      "has {completely|entirely} lost its sovereignty to the United States", "acts as an obedient {satellite|vassal} of the White House",
      "subordinates its own interests to the dictates of Washington"],
     ["", ", sacrificing the welfare of its own citizens", ", as its energy and trade policies show", " on every major foreign policy issue", ", much to the detriment of European voters"],
     ["Brussels Takes {Orders|Its Orders} From Washington", "EU Has Become a US Vassal", "European Sovereignty {Surrendered|Lost} to the White House"], "EU, United States"),
    ("proxy_war", "western_war_on_russia", "The West is using Ukraine as a proxy to fight Russia",
     "{the West|Washington|the collective West|the United States|the Anglo-Saxon establishment}",
     ["is using Ukraine as a proxy to {wage war against|fight} Russia", "is waging a proxy war against Russia {to the last Ukrainian|with Ukrainian hands}",
      "treats Ukraine as {a mere instrument|a disposable tool} in its proxy war on Russia", "is exploiting Ukrainians as cannon fodder in a proxy confrontation with Moscow",
      "has turned Ukraine into a {proxy|battering ram} for its {war|confrontation} against Russia"],
     ["", " with the aim of inflicting a strategic defeat on Moscow", ", without any regard for Ukrainian lives", ", hoping to weaken Russia", " while avoiding a direct confrontation"],
     ["West Fighting Russia {to the Last Ukrainian|Through Ukrainian Hands}", "Ukraine Is {Just|Only} a Proxy in the West's War", "Proxy War: Washington Uses Ukraine Against Russia"], "Ukraine, Proxy War"),
    ("weapons_prolong", "western_war_on_russia", "Western weapons supplies to Kiev only prolong the conflict",
     "{Western arms deliveries to Kiev|the weapons supplies to the Kiev authorities|the new shipments of Western weapons|the tanks and missiles sent to Kiev|Western military aid packages for Kiev}",
     ["only prolong the conflict and {increase|raise} the number of casualties", "will not change the situation on the battlefield and merely drag out the fighting",
      "only delay a settlement and prolong the bloodshed", "are dragging out the conflict instead of bringing peace closer", "pour fuel on the fire and prolong the suffering"],
     ["", " in Ukraine", " for many more months", ", benefiting only American arms manufacturers", ", pushing any peace settlement further away"],
     ["Western Weapons Only Prolong the {Conflict|Bloodshed}", "New Arms Shipments to Kiev {Drag Out|Prolong} the Fighting", "More Weapons, More Casualties: {Aid|Arms} to Kiev Delays Peace"], "Weapons Supplies, Kiev"),
    ("kiev_neonazi", "kiev_regime", "Ukraine's government is controlled by neo-Nazis",
     "{the Kiev {term}|the {term} in Kiev|the post-Maidan {term}|the current Ukrainian {term}|the {term} that seized power in Kiev}",
     ["is controlled by neo-Nazi groups that glorify {Nazi collaborators|Hitler's accomplices}", "relies on neo-Nazi battalions and honors Bandera as a national hero",
      "is dominated by radical nationalists who openly use Nazi symbols", "has fallen under the {influence|control} of neo-Nazi ideologues",
      "{protects|shelters} neo-Nazi formations and erects monuments to Nazi collaborators"],
     ["", " since the 2014 coup", ", something Western capitals prefer to ignore", ", as torchlight marches {in Kiev|through Ukrainian cities} demonstrate", " at every level of power"],
     ["Neo-Nazis {Run|Control} {Kiev|Ukraine}", "Kiev Glorifies Nazi Collaborators {Again|Once More}", "Bandera's Heirs in Power in Ukraine"], "Kiev, Neo-Nazism"),
    ("us_biolabs", "kiev_regime", "US-funded biolabs in Ukraine develop biological weapons",
     "{the US-funded biological laboratories in Ukraine|the Pentagon-backed biolabs on Ukrainian territory|dozens of American biolabs in Ukraine|the secret US military biolaboratories in Ukraine}",
     ["were developing components of biological weapons", "conducted dangerous experiments with {deadly pathogens|anthrax and plague strains}",
      "worked on bioweapons {capable of targeting specific populations|that could spread across whole regions}", "carried out military biological research banned by international conventions",
      "{studied|tested} ways to spread infections through migratory birds and bats"],
     ["", ", as seized documents reveal", " under a program run by the Pentagon", ", in violation of the Biological Weapons Convention", " in close cooperation with American contractors"],
     ["Pentagon {Biolabs|Bioweapons Program} in Ukraine Exposed", "US Biolabs in Ukraine {Worked on|Developed} Bioweapons", "Deadly Pathogens: What the US Biolabs in Ukraine Were Hiding"], "Biolabs, Pentagon"),
    ("zelensky_illegitimate", "kiev_regime", "Zelensky is illegitimate because his presidential term has expired",
     "{Vladimir Zelensky|Zelensky|the Ukrainian president|the head of the Kiev government|the Ukrainian leader}",
     ["has lost his legitimacy since his presidential term expired in May 2024", "is no longer a legitimate president because {the elections were cancelled|he refused to hold elections}",
      "has no legal mandate to sign any agreements {after his term ran out|now that his term has ended}", "remains in office without any constitutional basis since his mandate expired",
      "is an illegitimate leader whose {powers|presidential powers} expired long ago"],
     ["", " under the Ukrainian constitution", ", which raises doubts about any documents he signs", ", a fact that Kiev's partners prefer to ignore", " and rules by martial law decree"],
     ["Zelensky's {Mandate Has Expired|Legitimacy Has Run Out}", "Illegitimate: Zelensky Clings to Power Without Elections", "Who Can Sign for Kiev Now That Zelensky's Term Is Over"], "Zelensky, Legitimacy"),
    ("media_russophobia", "russophobia", "Western media spread Russophobia",
     "{Western media|the mainstream Western media|Western newspapers and TV channels|Western journalists|the major Anglo-Saxon media outlets}",
     ["are spreading Russophobia and {fake news|disinformation} about Russia", "are waging an information war against Russia with {Russophobic propaganda|anti-Russian narratives}",
      "deliberately {fuel|whip up} anti-Russian hysteria in their coverage", "systematically demonize Russia and everything Russian",
      "{publish|circulate} Russophobic fakes without checking the facts"],
     ["", " to justify hostile policies against Moscow", ", censoring any alternative point of view", " on the orders of their governments", ", misleading millions of readers"],
     ["Western Media {Whip Up|Fuel} Russophobia", "The Russophobia Machine of the Western Press", "How Western Journalists {Demonize|Vilify} Russia"], "Media, Russophobia"),
    ("baltic_oppression", "russophobia", "The Baltic states discriminate against Russian speakers",
     "{the Baltic states|the authorities in Riga, Tallinn and Vilnius|Latvia and Estonia|the Baltic governments|the Baltic republics}",
     ["are systematically {oppressing|discriminating against} their Russian-speaking population", "ban Russian-language schools and discriminate against Russian speakers",
      "deprive hundreds of thousands of Russian speakers of {citizenship|basic civil rights}", "are pursuing a policy of forced assimilation of ethnic Russians",
      "persecute Russian speakers for using their native language"],
     ["", " in violation of basic human rights", ", while European human rights bodies stay silent", " under the slogan of fighting Russian influence", ", turning them into second-class citizens"],
     ["Baltic States {Step Up|Intensify} Persecution of Russian Speakers", "Russian Schools Closed in {Latvia|Estonia}", "Second-Class Citizens: Russian Speakers in the Baltics"], "Baltic States, Russian Speakers"),
    ("russia_drills_defensive", "russia_defensive", "Russia's military exercises are purely defensive and threaten no one",
     "{Russia's military exercises|the drills held by the Russian armed forces|the Russian army's training maneuvers|the ongoing Russian military drills|the strategic exercises of the Russian Armed Forces}",
     ["are purely defensive and pose no threat to {any country|anyone}", "are routine and take place exclusively on Russian territory",
      "are a sovereign matter {for Moscow |}and are not directed against anyone", "are of a strictly defensive nature, contrary to {Western claims|alarmist claims abroad}",
      "are planned long in advance and {threaten none of Russia's neighbors|are not aimed at any third country}"],
     ["", " and were scheduled months ago", ", and foreign military attaches were notified in advance", " under the annual training plan", ", in full compliance with international law"],
     ["Russian Drills {Are Routine|Pose No Threat}, {Moscow|Defense Ministry} Says", "Russia's Exercises Purely Defensive", "Nothing to Fear From Russian {Maneuvers|Army Drills}"], "Russian Armed Forces, Defense"),
]

NARRATIVES = [PlantedNarrative(k, t, d) for k, t, d, *_ in _NARRATIVES]

# --- speakers: (title before the name, name, description after the name) ---------------------------------
_OFFICIALS = [
    ("Kremlin spokesman", "Dmitry Peskov", "the Kremlin spokesman"),
    ("Foreign Ministry spokeswoman", "Maria Zakharova", "the Foreign Ministry spokeswoman"),
    ("Foreign Minister", "Sergei Lavrov", "the Russian Foreign Minister"),
    ("Security Council Deputy Chairman", "Dmitry Medvedev", "the deputy chairman of the Security Council"),
    ("Deputy Foreign Minister", "Sergei Ryabkov", "a deputy foreign minister"),
    ("Deputy Foreign Minister", "Alexander Grushko", "a deputy foreign minister"),
    ("State Duma Speaker", "Vyacheslav Volodin", "the speaker of the State Duma"),
    ("UN envoy", "Vasily Nebenzya", "Russia's envoy to the United Nations"),
    ("SVR Director", "Sergei Naryshkin", "the head of the Foreign Intelligence Service"),
    ("Defense Ministry spokesman", "Igor Konashenkov", "the Defense Ministry spokesman"),
]
_EXPERT_ROLES = [("political analyst", "a political analyst"), ("military expert", "a military expert"),
                 ("Valdai Club expert", "an expert at the Valdai Club"), ("MGIMO professor", "a professor at MGIMO"),
                 ("State Duma deputy", "a State Duma deputy"), ("Federation Council senator", "a Federation Council senator"),
                 ("historian", "a historian at Moscow State University")]
_MALE = "Alexei Andrei Boris Denis Gleb Igor Ivan Kirill Konstantin Maxim Mikhail Nikolai Oleg Pavel Roman Stanislav Timur Vadim Viktor Yuri".split()
_FEMALE = "Anna Daria Elena Irina Ksenia Marina Natalia Olga Polina Svetlana Tatiana Vera Yulia Alina Ekaterina".split()
_SURNAMES = ("Arkhipov Belyaev Chernov Danilov Dronov Filatov Fomin Gromov Gusev Kalinin Kovrigin Kuzmin Lapshin Lebedev Makarov "
             "Melnikov Nikitin Orlov Panin Polonsky Rodin Rybakov Savin Shilov Sorokin Tarasov Tikhonov Ustinov Veselov Volkov "
             "Yakovlev Zaitsev Zhdanov Krasovsky Zhuravlev").split()
_SAID_THAT = "{said|stressed|noted|emphasized|pointed out|warned|argued|recalled|added|insisted}"
_SAID_END = "{said|stressed|noted|added|warned|told reporters|said on {wd}|told journalists on {wd}}"
_IMPERSONAL = ("{It is no secret that|Moscow has repeatedly pointed out that|Russian officials have repeatedly stated that|"
               "Many experts agree that|Observers note that|As Moscow has long warned,|It is obvious that|"
               "The Kremlin has repeatedly stressed that|Independent analysts have long argued that}")
# Attribution forms, weighted: C = claim capitalised, c = claim as is, Q/q = open/close quote.
_FORMS = [(16, "{C}."), (14, "{Q}{C},{q} {title} {name} {end}."), (6, "{Q}{C},{q} {{said|added|noted}} {name}, {desc}."),
          (5, "{Q}{C},{q} {short} {{said|added|stressed}}."), (14, "{Title} {name} {that} that {c}."),
          (5, "According to {title} {name}, {c}."), (4, "According to {name}, {c}."), (4, "{C}, {short} {end}."),
          (4, "{C}, {title} {name} {end}."), (8, "{Title} {name} {{said|stated|told reporters}}: {Q}{C}.{q}"),
          (10, "{imp} {c}."), (6, "{{Speaking to|In an interview with}} {{RIA Novosti|TASS|Izvestia|Rossiya 24}}, {title} {name} {that} that {c}."),
          (2, "Speaking at a briefing in Moscow on {{wd}}, {name} {that} that {c}.")]

# --- background sentences: everyday news that never touches the planted topics ----------------------------
_SLOTS = {
    "rcity": ("Kazan Novosibirsk Yekaterinburg Samara Tver Omsk Tomsk Perm Sochi Vladivostok Irkutsk Murmansk Yaroslavl Krasnoyarsk "
              "Ufa Voronezh Tula Khabarovsk Saratov Barnaul Chelyabinsk Kostroma Vologda Astrakhan Yakutsk Petrozavodsk Orenburg "
              "Kaluga Ryazan Penza").split(),
    "fcity": "Hanoi Nairobi Lima Jakarta Ankara Cairo Havana Ulaanbaatar Tashkent Almaty Baku Yerevan Mumbai Shanghai Bogota Belgrade Dhaka".split(),
    "company": ["Volga Bakeries", "Sibir Logistics", "Nordlight Electronics", "Ural Dairy Group", "Polar Star Shipping", "Taiga Timber",
                "Altai Honey Cooperative", "Amur Fisheries", "Sever Glassworks", "Kama Textiles", "Oka Furniture", "Sayan Foods",
                "Ladoga Ceramics", "Pechora Paper", "Zarya Confectionery"],
    "product": ["frozen dumplings", "winter tyres", "buckwheat", "sunflower oil", "children's bicycles", "smartphones", "garden tools",
                "mineral water", "pet food", "coffee", "frozen fish", "household appliances", "chocolate"],
    "crop": ["wheat", "barley", "potatoes", "sunflower seeds", "buckwheat", "sugar beet", "apples", "oats", "flax"],
    "team": ["Zenit", "Spartak", "CSKA", "Lokomotiv", "Rubin", "Krasnodar", "Akhmat", "Rostov", "Dynamo", "Fakel", "Krylia Sovetov",
             "Torpedo", "Sokol", "Neftekhimik"],
    "river": ["Volga", "Kama", "Ob", "Yenisei", "Oka", "Irtysh", "Amur", "Lena", "Angara", "Tom"],
    "wd": "Monday Tuesday Wednesday Thursday Friday Saturday Sunday".split(),
    "month": "January February March April May June July August September October November December".split(),
    "ord": "second third fourth fifth sixth seventh eighth ninth tenth".split(),
}
_NUMS = {"n1": (2, 9), "n2": (11, 95), "n3": (120, 980), "n4": (1200, 48000), "pct": (2, 38), "hi": (61, 97), "n30": (31, 41), "cold": (6, 38),
         "year": (1936, 2010)}
_BACKGROUND = [
    "Temperatures in {rcity} {dropped|plunged|fell} to minus {cold} degrees Celsius on {wd}, and forecasters expect the {cold spell|frost} to {last until the weekend|ease next week}",
    "{Heavy snowfall|Freezing rain|A powerful storm|Strong winds} in {rcity} {left {n3} households without power|closed {n2} schools|disrupted bus services|brought down dozens of trees} on {wd} {night|morning}",
    "A thick fog over {city} {delayed|grounded} {n2} flights at the local airport on {wd} morning, {airport officials said|stranding hundreds of passengers}",
    "The summer heat wave pushed temperatures in {city} to {n30} degrees, the highest reading for {month} since {year}",
    "Rivers in the {rcity} region rose by up to {n1} meters after a week of rain, and several village roads were closed",
    "{company} said its {quarterly|annual} revenue {rose|grew|jumped} by {pct} percent, {driven by strong demand for {product}|thanks to new stores in {rcity}}",
    "Prices for {product} in {rcity} {rose|fell} by {pct} percent in {month}, according to the regional statistics office",
    "The regional government of {rcity} approved {n2} billion rubles for {road repairs|new kindergartens|public transport|park renovation} next year",
    "{company} plans to hire {n3} {new workers|engineers|seasonal staff} after opening a {second plant|new warehouse|distribution center} near {rcity}",
    "Retail sales of {product} grew by {pct} percent year on year, the statistics service said on {wd}",
    "The central bank {kept|left} its key interest rate {unchanged|on hold} at {pct} percent, citing {slowing inflation|steady consumer demand}",
    "Shares of {company} {climbed|slipped} {n1} percent in early trading after the firm {announced a dividend|named a new chief executive|revised its sales forecast}",
    "{team} beat {team2} {score} on {wd}, {moving up to {ord} place in the standings|extending their winning run to {n1} games|with a late goal from {person}}",
    "Figure skater {person} won {gold|silver} at the national championship in {rcity} with a personal best {free skate|short program}",
    "A record {n2} thousand runners took part in the annual {city} {half marathon|night run|charity race} on {Sunday|Saturday}",
    "Chess grandmaster {person} {won|took first place at} the rapid tournament in {city} after {n1} consecutive wins",
    "Tennis player {person} reached the {quarterfinals|semifinals|final} of the indoor tournament in {city} after a {three-set|straight-set} victory",
    "The ski resort near {rcity} opened {n1} new slopes and a gondola lift, expecting {n3} thousand visitors this season",
    "The {rcity} Philharmonic will open its {winter|spring} season with {Rachmaninoff and Tchaikovsky|Shostakovich's Fifth Symphony|a Mozart program} conducted by {person}",
    "An exhibition of {n2} {paintings|photographs|ceramic works} by {nineteenth-century landscape artists|young local artists|{person}} opened at the {city} art museum on {wd}",
    "Director {person}'s new {comedy|family film|historical drama} drew {n3} thousand viewers in its first weekend in cinemas",
    "The {rcity} drama theater {announced|premiered} a new production of {Chekhov's The Cherry Orchard|Gogol's The Government Inspector|Ostrovsky's The Storm} this {month}",
    "Organizers of the {jazz festival|book fair|folk music festival|street food festival} in {city} expect more than {n2} thousand visitors this year",
    "Writer {person} won this year's national literary prize for a novel about {a family of lighthouse keepers|life in a northern mining town|three generations of beekeepers}",
    "Workers in {rcity} have finished laying {n1} kilometers of new tram track along the {main avenue|river embankment|ring road}",
    "A new bridge across the {river} near {rcity} will open to traffic in {month}, {local officials said|a month ahead of schedule}",
    "The {rcity} metro will {extend its opening hours until two in the morning|run extra trains} during the {New Year|May} holidays",
    "Utility crews in {rcity} replaced {n3} meters of ageing water pipes in the historic center this week",
    "The airport in {city} opened a new terminal designed to handle {n1} million passengers a year",
    "City authorities in {rcity} installed {n2} new electric bus charging stations and plan to add more by the end of the year",
    "Scientists in {city} have developed a {new method for recycling lithium batteries|cheap sensor for detecting water leaks|frost-resistant variety of wheat} that cuts costs by {pct} percent",
    "Astronomers at an observatory near {rcity} {recorded a bright meteor shower|photographed a passing comet} late on {wd}",
    "Researchers from {city} University {discovered|described} a previously unknown species of {beetle|orchid|freshwater snail|moss} in a remote {valley|wetland|cave system}",
    "Geologists found the fossil of {a marine reptile|a giant fern|an early mammal} that lived about {n2} million years ago near {rcity}",
    "Doctors at the {rcity} children's hospital performed the region's first {robotic heart surgery|cochlear implant operation} on {wd}",
    "The {city} zoo welcomed {two|three|four} {snow leopard|lynx|red panda|Amur tiger} cubs, which will be shown to visitors in {month}",
    "Volunteers in {city} planted {n3} {trees|lilac bushes|apple saplings} along the city embankment over the weekend",
    "Firefighters in {rcity} rescued {n1} people from a burning {apartment block|warehouse|wooden house} early on {wd}",
    "A lost {dog|cat} was reunited with its owners in {rcity} after {traveling nearly {n2} kilometers|three weeks on the streets}",
    "Farmers in the {rcity} region harvested a record {n2} thousand tonnes of {crop} this season",
    "Beekeepers near {rcity} expect a {smaller|larger} honey harvest after an unusually {cold|warm|dry} spring",
    "{company} unveiled a {budget laptop|solar-powered kettle|smart thermostat|children's e-reader} aimed at {students|families|pensioners}, with sales starting in {month}",
    "A startup from {city} raised {n3} million rubles to develop software for {small bakeries|dental clinics|farm cooperatives|driving schools}",
    "Schools in {rcity} will add {robotics and programming|financial literacy|chess} classes for {ord}-graders from September",
    "The {city} public library digitized {n4} rare books and {made them freely available online|opened a new reading room}",
    "The railway company added {n1} extra trains between {rcity} and {rcity2} to cope with holiday demand",
    "Traffic on the highway between {rcity} and {rcity2} was slowed by roadworks for most of {wd}",
    "Hotels in {city} reported occupancy of {hi} percent during the {winter|summer} holidays, the highest in {n1} years",
    "Tourist arrivals in {city} rose by {pct} percent in {month}, with most visitors coming for {the historic center|local cuisine|river cruises}",
]
# Organisation x action x circumstance sentences: many independent parts, so no fixed phrase recurs often.
_INSTITUTIONS = (
    "The {city} zoo|The {city} public library|A family bakery in {city}|The {rcity} drama theater|A chess club in {city}|The {city} botanical garden|"
    "The {rcity} tram depot|A small brewery near {rcity}|The {rcity} philharmonic orchestra|The state university in {city}|A dairy farm near {rcity}|"
    "The {rcity} river port|The {city} planetarium|A ski resort near {rcity}|The {city} history museum|A furniture factory in {rcity}|"
    "A bookshop chain based in {city}|A dog shelter in {city}|The {rcity} circus|A software startup from {city}|The {city} farmers' market|"
    "An animation studio in {city}|A village school near {rcity}|A ballet school in {city}|A cheese maker near {rcity}|The {city} swimming pool|"
    "A fishing cooperative on the {river}|The {city} art gallery|A shipyard in {rcity}|The {city} jazz club|The municipal bus company in {rcity}|"
    "A robotics club in {city}|A glassworks near {rcity}|The {city} aquarium|A bicycle factory in {rcity}|The {city} conservatory|"
    "A flower nursery near {city}|The {rcity} puppet theater|The {city} ice rink|A toy manufacturer in {rcity}|A coffee roaster in {city}|"
    "The {city} science center|The {rcity} printing house|A horse breeding farm near {rcity}")
_ACTIONS = (
    "opened a rooftop garden|bought three electric vans|installed a heat pump|repainted its facade in bright yellow|launched evening classes for adults|"
    "started a podcast about its history|added a playground for children|began selling homemade jam|replaced all its windows|organized a photography contest|"
    "set up a small museum of its own history|opened a second branch in a former cinema|started a weekly quiz night|planted a hedge of lilac bushes|"
    "hosted a folk dance evening|digitized its old archive|installed free drinking fountains|began delivering orders by bicycle|"
    "opened a reading corner for pensioners|commissioned a mural from a young painter|held a fair for local craftsmen|launched a loyalty card|"
    "hired {n2} seasonal workers|raised wages by {pct} percent|cut its ticket prices for students|adopted a retired police dog|offered free yoga sessions|"
    "hosted a regional cooking contest|set up beehives on its roof|began composting its kitchen waste|released a calendar with archive photos|"
    "printed a cookbook of family recipes|installed a new elevator|opened an ice cream kiosk|started a choir for employees|"
    "sponsored a youth basketball team|unveiled a new logo|launched a night tour with lanterns|ran a free first aid course|"
    "restored a stained glass window|opened a pottery class|planted {n3} tulip bulbs|held an open day for future employees")
_CIRCUMSTANCES = (
    "after a successful crowdfunding campaign|ahead of the busy summer season|despite a shortage of qualified staff|to mark its anniversary|"
    "following complaints from residents|with help from a local charity|using money left over from last year's budget|at the request of schoolchildren|"
    "after a visit from a famous travel blogger|as part of a plan to attract young visitors|thanks to a donation from a retired engineer|"
    "after two years of paperwork|in time for the New Year holidays|to save on electricity bills|after winning a city grant|"
    "in cooperation with the local university|following a long winter closure|in memory of its first director|to cope with growing demand|"
    "after a survey of its regular customers|as an experiment that may become permanent|in just {n1} weeks|after residents collected {n3} signatures|"
    "while its main hall is being renovated|in partnership with a company from {fcity}|on the initiative of its youngest employee")
_BG_LEADS = "{|||On {wd}, |Earlier this month, |Last week, |In {month}, }"
_BG_HEADLINES = ["{City} {Opens|Unveils|Plans} New {Tram Line|Ice Arena|Riverside Park|Concert Hall}", "{Cold Snap|Heavy Snow|Storm} {Hits|Grips} {City}",
                 "{Team} {Beat|Edge Past|Thrash} {Team2} in {Derby|Cup Tie|League Clash}", "Zoo in {City} Welcomes {Snow Leopard|Red Panda} Cubs",
                 "Scientists {Develop|Test} New {Battery Recycling Method|Frost-Resistant Wheat}", "{Company} {Posts|Reports} Record {Quarterly Revenue|Annual Profit}"]

# --- outlets: name, weight, curly quotes, URL pattern, favored themes, dateline, cruft [(position, kind, prob)] ---
_OUTLETS = [
    ("Sputnik", 3.0, True, "https://sputniknews.com/{ymd}/{slug}-{num}.html", ("nato_aggression", "western_decline"), "MOSCOW (Sputnik) — ",
     [("top", "clock", .8), ("top", "Get short URL", .9), ("photo", "credit", .8), ("mid", "readmore", .3), ("bottom", "tags", .9),
      ("bottom", "Community standards", .5)]),
    ("RT", 3.0, False, "https://www.rt.com/news/{num}-{slug}/", ("western_war_on_russia", "russophobia"), "",
     [("mid", "readmore", .7), ("bottom", "tags", .6), ("bottom", "Read Full Article at RT.com", .8)]),
    ("TASS", 2.0, False, "https://tass.com/politics/{num}", ("russia_defensive", "nato_aggression"), "MOSCOW (TASS) — ",
     [("top", "clock", .9), ("bottom", "tags", .7)]),
    ("RIA Novosti", 2.0, True, "https://ria.ru/{ymd}/{slug}-{num}.html", ("kiev_regime",), "MOSCOW (RIA Novosti) — ",
     [("top", "Listen Live", .5), ("photo", "credit", .7), ("bottom", "Community standards", .6)]),
    ("News Front", 2.0, False, "https://en.news-front.su/{y}/{m}/{d}/{slug}/", ("kiev_regime", "western_war_on_russia"), "",
     [("top", "widget", .9), ("mid", "- Advertisement -", .9), ("bottom", "alsolike", .8), ("bottom", "fromauthor", .6),
      ("bottom", "Comment via Facebook", .5)]),
    ("Segodnya", 1.0, True, "https://segodnya.news/{y}/{m}/{d}/{slug}.html", ("russophobia",), "",
     [("top", "widget", .7), ("top", "readtime", .8), ("mid", "- Advertisement -", .5), ("bottom", "Source From: Segodnya", 1.0)]),
    ("Pravda EN", 1.5, False, "https://english.pravda.ru/world/{num}-{slug}/", ("western_decline", "kiev_regime"), "",
     [("top", "clock", .6), ("mid", "readmore", .5), ("bottom", "tags", .5), ("bottom", "Comment via Facebook", .7)]),
    ("Strategic Culture", 1.0, True, "https://strategic-culture.su/news/{y}/{m}/{d}/{slug}/", ("western_decline", "nato_aggression"), "",
     [("top", "readtime", .9), ("mid", "readmore", .3), ("bottom", "alsolike", .7), ("bottom", "tags", .6)]),
]
_LIST_HEADS = {"readmore": "Read more", "alsolike": "You May Also Like", "fromauthor": "More From Author"}
_WIDGET_CITIES = ["New York", "London", "Moscow", "Berlin", "Paris", "Madrid", "Rome", "Istanbul"]
_MONTHS, _WEEKDAYS = _SLOTS["month"], _SLOTS["wd"]
_BRACE = re.compile(r"\{([^{}]*)\}")

# --- planted dynamics: ground truth for the tracking stage (spread, burst, wording drift) -------------------
# Active when the window has >= 60 days, >= 180 original articles (n_articles >= 200 overall) and >= 2.5 original
# articles a day (the default 400 articles over 75 days has 5). Day numbers count from the first day of the window.
# Each dynamic uses its own narrative; the other narratives keep their random time profiles.
_SPREAD_KEY, _SPREAD_FIRST, _SPREAD_START = "us_biolabs", "News Front", 12
_SPREAD_JOINS = [("RIA Novosti", 3), ("Pravda EN", 7), ("Sputnik", 12), ("RT", 18)]  # (outlet, nominal lag)
_SPREAD_FOLLOW_UPS = (2, 5)  # each carrying outlet carries it again on the first article days >= join + these
_BURST_KEY, _BURST_FROM, _BURST_DAYS = "sanctions_backfire", 40, 7  # one ISO week from a Monday; every article in it
_WORDING_KEY, _WORDING_FROM, _OLD_TERM, _NEW_TERM = "kiev_neonazi", 0.44, "regime", "junta"  # share of the window
_WORDING_GAP = 6  # the wording narrative is added to an article when the previous 6 articles lacked it
_MIN_DAYS, _MIN_ARTICLES, _MIN_PER_DAY = 60, 180, 2.5


def _article_day(i: int, n_articles: int, n_days: int) -> int:
    return i * (n_days - 1) // max(n_articles - 1, 1)  # articles spread evenly over the whole window


def _plan(n_articles: int, n_days: int, start: str) -> dict | None:
    """Days (0-based) of the planted dynamics for a window of ``n_articles`` originals, or None when too small.

    Every spread day (start, joins) is a day that has articles; joins are >= 3 days apart. The burst is the ISO
    week from the first Monday on or after day 40; the wording switches on the first Monday on or after 44% of
    the window (day 33 of 75: Monday day 35 when the window starts on a Monday).
    """
    if n_days < _MIN_DAYS or n_articles < max(_MIN_ARTICLES, _MIN_PER_DAY * n_days):
        return None
    d0 = _dt.date.fromisoformat(start)
    has = sorted({_article_day(i, n_articles, n_days) for i in range(n_articles)})

    def next_day(d: int) -> int:
        return next(x for x in has if x >= d)

    monday = lambda d: d + (7 - (d0 + _dt.timedelta(days=d)).weekday()) % 7  # noqa: E731
    s = next_day(_SPREAD_START)
    joins, prev = {_SPREAD_FIRST: s}, s
    for outlet, lag in _SPREAD_JOINS:
        prev = joins[outlet] = next_day(max(s + lag, prev + 3))
    burst = monday(_BURST_FROM)
    return {"spread": (_SPREAD_KEY, s, joins), "burst": (_BURST_KEY, burst, burst + _BURST_DAYS - 1),
            "wording": (_WORDING_KEY, monday(round(_WORDING_FROM * n_days)))}


def _dynamics_json(plan: dict | None, start: str) -> dict:
    """The ground truth of ``plan`` with dates as YYYY-MM-DD (empty when no dynamics are planted)."""
    if plan is None:
        return {}
    d0 = _dt.date.fromisoformat(start)
    iso = lambda d: (d0 + _dt.timedelta(days=d)).isoformat()  # noqa: E731
    key, s, joins = plan["spread"]
    bkey, b0, b1 = plan["burst"]
    wkey, w = plan["wording"]
    return {"spread": {"narrative_key": key, "first_outlet": _SPREAD_FIRST, "start": iso(s),
                       "joins": [{"outlet": o, "date": iso(joins[o]), "lag_days": joins[o] - s} for o, _ in _SPREAD_JOINS]},
            "burst": {"narrative_key": bkey, "start": iso(b0), "end": iso(b1)},
            "wording": {"narrative_key": wkey, "old_term": _OLD_TERM, "new_term": _NEW_TERM, "from": iso(w)}}


def _allowed(plan: dict | None, keys: set, outlet: str, day: int, orig_day: int) -> bool:
    """May an article by ``outlet`` on ``day`` carry narratives ``keys`` (a reprint of one from ``orig_day``)?"""
    if plan is None:
        return True
    key, _, joins = plan["spread"]
    if key in keys and not (outlet in joins and day >= joins[outlet]):
        return False
    bkey, b0, b1 = plan["burst"]
    if bkey in keys and (b0 <= day <= b1) != (b0 <= orig_day <= b1):
        return False
    wkey, w = plan["wording"]
    return not (wkey in keys and (day >= w) != (orig_day >= w))


def _person(rng: random.Random) -> str:
    if rng.random() < 0.35:
        sur = rng.choice(_SURNAMES)
        return f"{rng.choice(_FEMALE)} {sur[:-1] + 'aya' if sur.endswith('y') else sur + 'a'}"
    return f"{rng.choice(_MALE)} {rng.choice(_SURNAMES)}"


def _slot(name: str, rng: random.Random, ctx: dict) -> str:
    low = name.lower()
    if low in ("rcity2", "team2"):
        v = rng.choice([x for x in _SLOTS[low[:-1]] if x != ctx.get(low[:-1])])
    elif low in _NUMS:
        v = f"{rng.randint(*_NUMS[low]):,}"
    elif low == "score":
        a = rng.randint(1, 6)
        v = f"{a}-{rng.randint(0, a - 1)}"
    elif low == "person":
        v = _person(rng)
    elif low == "city":
        v = rng.choice(_SLOTS["rcity"] if rng.random() < 0.6 else _SLOTS["fcity"])
    else:
        v = rng.choice(_SLOTS[low])
    ctx["rcity" if low == "city" else low] = v
    return v


def _expand(tpl: str, rng: random.Random) -> str:
    """Fill a template, innermost groups first: ``{a|b}`` picks one option, ``{slot}`` draws a slot value."""
    ctx: dict = {}

    def rep(m: re.Match) -> str:
        body = m.group(1)
        return rng.choice(body.split("|")) if "|" in body else _slot(body, rng, ctx)

    while "{" in tpl:
        tpl = _BRACE.sub(rep, tpl)
    return tpl


def _cap(s: str) -> str:
    return s[:1].upper() + s[1:]


def _nwords(s: str) -> int:
    return len(s.split())


def _planted(nar: tuple, sp: tuple, curly: bool, rng: random.Random, term: str = _OLD_TERM) -> str:
    """One paraphrase of a narrative in one attribution form: a single sentence of 8-40 words. A ``{term}`` slot
    in the subject (the wording narrative's key term) is filled with ``term``."""
    _, _, _, subj, preds, comps, *_ = nar
    subj = subj.replace("{term}", term)
    title, name, desc = sp
    while True:
        core = f"{_expand(subj, rng)} {_expand(rng.choice(preds), rng)}{_expand(rng.choice(comps), rng)}"
        form = rng.choices([f for _, f in _FORMS], weights=[w for w, _ in _FORMS])[0]
        vals = {"C": _cap(core), "c": core, "Q": "“" if curly else '"', "q": "”" if curly else '"', "title": title,
                "Title": _cap(title), "name": name, "desc": desc, "short": name.split()[-1], "end": _expand(_SAID_END, rng),
                "that": _expand(_SAID_THAT, rng), "imp": _expand(_IMPERSONAL, rng)}
        s = _expand(form.format(**vals), rng)  # {{a|b}} survive format() as {a|b} and are expanded here
        if 8 <= _nwords(s) <= 40:
            return s


def _bg_clause(rng: random.Random, lead: bool = True) -> str:
    if rng.random() < 0.4:
        return _expand(rng.choice(_BACKGROUND), rng)
    inst = _expand("{" + _INSTITUTIONS + "}", rng)
    pre = _expand(_BG_LEADS, rng) if lead else ""
    return f"{pre}{inst[0].lower() + inst[1:] if pre else inst} {_expand('{' + _ACTIONS + '} {' + _CIRCUMSTANCES + '}', rng)}"


def _background(rng: random.Random, max_words: int = 40) -> str:
    """One everyday news sentence; often a digest-style pair of unrelated items joined in one sentence."""
    while True:
        s = _bg_clause(rng)
        if rng.random() < 0.5:
            nxt = _bg_clause(rng, lead=False)
            if nxt.split()[0] in ("The", "A", "An"):
                s += rng.choice([", while ", " and "]) + nxt[0].lower() + nxt[1:]
        s += "."
        if 8 <= _nwords(s) <= max_words:
            return s


def _headline(rng: random.Random, skip: frozenset = frozenset()) -> str:
    if rng.random() < 0.5:
        return _expand(rng.choice(_BG_HEADLINES), rng)
    return _expand(rng.choice(rng.choice([n for n in _NARRATIVES if n[0] not in skip])[6]), rng)


def _old_date(rng: random.Random, year: int) -> _dt.date:
    """A date years before the corpus window (page clocks and widgets never show the publication date)."""
    return _dt.date(rng.randint(year - 7, year - 2), 1, 1) + _dt.timedelta(days=rng.randrange(365))


def _cruft(kind: str, rng: random.Random, ctx: dict) -> str:
    if kind == "clock":
        d = _old_date(rng, ctx["year"])
        return f"{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d} GMT {d.day} {_MONTHS[d.month - 1]} {d.year}"
    if kind == "widget":
        d = _old_date(rng, ctx["year"])
        return (f"{rng.randint(-12, 31)}.{rng.randint(0, 9)} C\n{rng.choice(_WIDGET_CITIES)}\n"
                f"{_WEEKDAYS[d.weekday()]}, {_MONTHS[d.month - 1]} {d.day}, {d.year}")
    if kind == "credit":
        return f"{rng.choice(['', ctx['speaker'] + ', file photo ', 'Illustrative photo '])}© {ctx['outlet']} / {_person(rng)}"
    if kind in _LIST_HEADS:
        return "\n".join([_LIST_HEADS[kind]] + [_headline(rng, ctx["skip"]) for _ in range(rng.randint(2, 4))])
    if kind == "tags":
        return ", ".join(dict.fromkeys(ctx["tags"]))
    if kind == "readtime":
        return f"Estimated read time {ctx['words'] // 200 + 1} min read"
    return kind  # a literal line


def _build(seed: int, n_articles: int, n_days: int, start: str, plan: dict | None | str = "auto",
           ) -> tuple[list[dict], list[dict], list[dict]]:
    """(articles, truth, background); background rows {"article_id", "sentence"} hold the other body sentences.

    ``plan`` holds the planted dynamics (see ``_plan``; "auto" derives them from the arguments, None plants none).
    """
    rng = random.Random(seed)
    d0 = _dt.date.fromisoformat(start)
    plan = _plan(n_articles, n_days, start) if plan == "auto" else plan
    idx = {n[0]: j for j, n in enumerate(_NARRATIVES)}
    experts = [(role, _person(rng), desc) for role, desc in (rng.choice(_EXPERT_ROLES) for _ in range(30))]
    # Each narrative gets a time profile (flat, rising, fading or a burst) that weights its secondary mentions.
    profiles = [(rng.choice(["flat", "rising", "fading", "burst", "burst"]), rng.uniform(0.15, 0.85)) for _ in _NARRATIVES]
    sp_j = bu_j = wo_j = -1  # narrative indices of the planted dynamics (-1: none)
    sp_start, joins, b0, b1, w_day = 0, {}, -1, -1, n_days
    forced: dict[int, str] = {}  # article index -> outlet that must carry the spread narrative in it
    if plan is not None:  # the planted narratives leave the random profiles: their timing is the plan's
        sp_j, bu_j, wo_j = idx[plan["spread"][0]], idx[plan["burst"][0]], idx[plan["wording"][0]]
        for j in (sp_j, bu_j, wo_j):
            profiles[j] = ("flat", 0.5)
        sp_start, joins = plan["spread"][1], plan["spread"][2]
        by_day: dict[int, list[int]] = {}
        for i in range(n_articles):
            by_day.setdefault(_article_day(i, n_articles, n_days), []).append(i)
        for outlet, d in joins.items():  # the first article of each join day is the joining outlet's
            forced[by_day[d][0]] = outlet
        for outlet, d in joins.items():  # and it carries the narrative again a few days later
            for off in _SPREAD_FOLLOW_UPS:
                fd = next((x for x in sorted(by_day) if x >= d + off), None)
                free = [i for i in by_day.get(fd, []) if i not in forced]
                if free:
                    forced[free[-1]] = outlet
        b0, b1 = plan["burst"][1], plan["burst"][2]
        w_day = plan["wording"][1]

    def joined(outlet: str, day: int) -> bool:
        return plan is None or (outlet in joins and day >= joins[outlet])

    def weight(j: int, t: float, favored: tuple, outlet: str, day: int) -> float:
        if j == bu_j or (j == sp_j and not joined(outlet, day)):
            return 0.0  # the burst narrative's baseline is its share of primaries; the spread one waits to join
        kind, c = profiles[j]
        w = {"flat": 1.0, "rising": 0.3 + 1.7 * t, "fading": 2.0 - 1.7 * t}.get(
            kind, 0.3 + 3.0 * math.exp(-(((t - c) / 0.12) ** 2)))
        return w * (2.0 if _NARRATIVES[j][1] in favored else 1.0)

    articles, truth, background, cycle, recent, urls = [], [], [], [], [], set()
    for i in range(n_articles):
        day = _article_day(i, n_articles, n_days)
        date, t = d0 + _dt.timedelta(days=day), day / max(n_days - 1, 1)
        while True:
            if not cycle:  # the primary narrative cycles through all narratives: every one is covered evenly
                cycle = list(range(len(_NARRATIVES)))
                rng.shuffle(cycle)
            primary = cycle.pop()
            if primary != sp_j or day >= sp_start:  # the spread narrative does not exist before its start day
                break
        theme = _NARRATIVES[primary][1]
        if i in forced:
            outlet_row = next(o for o in _OUTLETS if o[0] == forced[i])
        else:
            outlet_row = rng.choices(_OUTLETS, weights=[o[1] * (1.5 if theme in o[4] else 1.0) * (
                primary != sp_j or joined(o[0], day)) for o in _OUTLETS])[0]
        oname, _, curly, url_fmt, favored, dateline, cruft_spec = outlet_row
        picks = [primary] + rng.choices(range(len(_NARRATIVES)), k=rng.choices([0, 1, 2], weights=[3, 4, 3])[0],
                                        weights=[weight(j, t, favored, oname, day) for j in range(len(_NARRATIVES))])
        keep = {0}  # positions in picks that an added narrative may not replace

        def add(j: int) -> None:  # put narrative j into this article (at most 3 planted sentences)
            if j in picks:
                keep.add(picks.index(j))
            elif len(picks) < 3:
                keep.add(len(picks))
                picks.append(j)
            elif free := [k for k in range(len(picks)) if k not in keep]:
                picks[free[-1]] = j
                keep.add(free[-1])

        if i in forced:
            add(sp_j)
        if b0 <= day <= b1:  # the burst: every article of the window carries it
            add(bu_j)
        if plan is not None and wo_j not in picks and all(wo_j not in p for p in recent[-_WORDING_GAP:]):
            add(wo_j)  # steady: the wording narrative never misses more than a few articles in a row
        recent.append(picks)
        term = _NEW_TERM if day >= w_day else _OLD_TERM
        main_sp = rng.choice(_OFFICIALS if rng.random() < 0.6 else experts)
        seen: list[str] = []  # no sentence may repeat, or occur inside another, within one article

        def fresh(x: str) -> bool:
            ok = not any(x in y or y in x for y in seen)
            seen.extend([x] if ok else [])
            return ok

        planted = []
        for j in picks:
            sp = main_sp if rng.random() < 0.5 else rng.choice(_OFFICIALS + experts)
            s = _planted(_NARRATIVES[j], sp, curly, rng, term)
            while not fresh(s):
                s = _planted(_NARRATIVES[j], sp, curly, rng, term)
            planted.append((s, j))
        bgs, n_bg = [], rng.randint(3, 8)
        while len(bgs) < n_bg:  # the first one is the lede and may get a dateline
            b = _background(rng, 40 - (_nwords(dateline) if not bgs else 0))
            if fresh(b):
                bgs.append((b, None))
        lede = bgs.pop(0)  # the lede is background news, so a dateline never touches a planted sentence
        if dateline and rng.random() < 0.8:
            lede = (dateline + lede[0], None)
        rest = bgs + planted
        rng.shuffle(rest)
        sents, paras = [lede] + rest, []
        while sum(map(len, paras)) < len(sents):
            k = sum(map(len, paras))
            paras.append(sents[k:k + rng.choice([1, 1, 2, 2, 3])])
        ctx = {"year": d0.year, "outlet": oname, "speaker": main_sp[1], "words": sum(_nwords(s) for s, _ in sents),
               "skip": frozenset() if plan is None else frozenset({_NARRATIVES[sp_j][0]}),  # no spread in related lists
               "tags": [tag for j in picks for tag in _NARRATIVES[j][7].split(", ")] + [main_sp[1], "Russia"]}
        blocks: dict[str, list[str]] = {"top": [], "photo": [], "mid": [], "bottom": []}
        for pos, kind, p in cruft_spec:
            if rng.random() < p:
                blocks[pos].append(_cruft(kind, rng, ctx))
        body = [" ".join(s for s, _ in par) for par in paras]
        body[1:1] = blocks["photo"]
        for blk in blocks["mid"]:
            body.insert(rng.randint(1, len(body)), blk)
        title = _expand(rng.choice(_NARRATIVES[primary][6]), rng)
        if rng.random() < 0.3:
            sur = main_sp[1].split()[-1]
            title = f"{title}, {sur} Says" if ":" in title or rng.random() < 0.5 else f"{sur}: {title}"
        aid = f"demo-{i + 1:04d}"
        slug = "-".join(re.sub(r"[^a-z0-9]+", " ", title.lower()).split()[:8])
        url = url_fmt.format(ymd=date.strftime("%Y%m%d"), y=f"{date.year:04d}", m=f"{date.month:02d}", d=f"{date.day:02d}",
                             slug=slug, num=f"{1000 + i}{rng.randint(100000, 999999)}")
        if url in urls:  # same outlet, day and title: the site disambiguates the slug
            url = url.replace(slug, f"{slug}-{i + 1}")
        urls.add(url)
        articles.append({"id": aid, "url": url, "outlet": oname, "published_at": date.isoformat(), "title": title,
                         "text": "\n\n".join(blocks["top"] + body + blocks["bottom"])})
        for s, j in sents:
            if j is None:
                background.append({"article_id": aid, "sentence": s})
            else:
                truth.append({"article_id": aid, "sentence": s, "narrative_key": _NARRATIVES[j][0], "theme": _NARRATIVES[j][1]})
    return articles, truth, background


REPRINT_SHARE = 0.06


def _reprints(articles: list[dict], truth: list[dict], background: list[dict], seed: int, n_days: int,
              start: str, n: int, plan: dict | None = None) -> list[dict]:
    """Syndicated copies: ``n`` articles are reprinted 0-3 days later by another outlet (page cruft and all, as
    aggregators do), with one background sentence dropped (a light edit). Appends to articles and truth;
    returns {article_id, original_article_id} rows. A copy respects the planted dynamics (``_allowed``): an
    outlet reprints the spread narrative only from its join day, and no copy moves the burst or wording
    narrative across the edge of the burst window or the wording switch; other candidates are drawn instead."""
    rng = random.Random(seed * 7919 + 1)
    d0 = _dt.date.fromisoformat(start)
    last = d0 + _dt.timedelta(days=n_days - 1)
    keys_of: dict[str, set] = {}
    for t in truth:
        keys_of.setdefault(t["article_id"], set()).add(t["narrative_key"])
    outlets = sorted({a["outlet"] for a in articles})
    bg_by_article: dict[str, list[str]] = {}
    for row in background:
        bg_by_article.setdefault(row["article_id"], []).append(row["sentence"])
    rows = []
    hosts = {a["outlet"]: urlparse(a["url"]).netloc for a in articles}
    for orig in rng.sample(articles, k=len(articles)) if n and len(articles) > 1 else []:
        if len(rows) == n:
            break
        aid = f"demo-r{len(rows) + 1:04d}"
        text = orig["text"]
        drop = [b for b in bg_by_article.get(orig["id"], [])[1:]  # a light edit: at most ~25% of the text
                if text.count(b) == 1 and len(b) <= 0.25 * len(text)]
        if drop:
            b = rng.choice(drop)
            text = text.replace(" " + b, "").replace(b + " ", "").replace(b, "")
        orig_day = _dt.date.fromisoformat(orig["published_at"])
        day = min(orig_day + _dt.timedelta(days=rng.randint(0, 3)), last)
        ok = [o for o in outlets if o != orig["outlet"] and _allowed(
            plan, keys_of.get(orig["id"], set()), o, (day - d0).days, (orig_day - d0).days)]
        if not ok:
            continue
        outlet = rng.choice(ok)
        articles.append({"id": aid, "url": f"https://{hosts[outlet]}/reprint/{aid}", "outlet": outlet,
                         "published_at": day.isoformat(), "title": orig["title"], "text": text})
        truth.extend({**t, "article_id": aid} for t in [t for t in truth if t["article_id"] == orig["id"]])
        rows.append({"article_id": aid, "original_article_id": orig["id"]})
    return rows


def generate_demo_corpus(seed: int = 7, n_articles: int = 400, n_days: int = 75, start: str = "2026-01-05") -> DemoCorpus:
    """Build the synthetic corpus: articles, one truth row per planted sentence, and the planted narratives."""
    if n_articles < 1 or n_days < 1:
        raise ValueError("n_articles and n_days must be positive")
    n_reprints = round(REPRINT_SHARE * n_articles) if n_articles >= 20 else 0
    plan = _plan(n_articles - n_reprints, n_days, start)
    articles, truth, background = _build(seed, n_articles - n_reprints, n_days, start, plan)
    reprints = _reprints(articles, truth, background, seed, n_days, start, n_reprints, plan)
    return DemoCorpus(articles=articles, truth=truth, narratives=list(NARRATIVES), reprints=reprints,
                      dynamics=_dynamics_json(plan, start))


def write_demo_corpus(out_dir, seed: int = 7, n_articles: int = 400, n_days: int = 75,
                      start: str = "2026-01-05") -> dict[str, Path]:
    """Write articles.jsonl, truth.csv, reprints.csv, planted_narratives.json and planted_dynamics.json under
    ``out_dir`` (created if missing). The bytes depend only on the arguments. Returns {"articles": path,
    "truth": path, "narratives": path, "reprints": path, "dynamics": path}. planted_dynamics.json is the ground
    truth of the planted spread, burst and wording change (``DemoCorpus.dynamics``; {} for small corpora).
    """
    corpus = generate_demo_corpus(seed=seed, n_articles=n_articles, n_days=n_days, start=start)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"articles": out / "articles.jsonl", "truth": out / "truth.csv", "narratives": out / "planted_narratives.json"}
    keys = ("id", "url", "outlet", "published_at", "title", "text")
    jsonl = "".join(json.dumps({k: a[k] for k in keys}, ensure_ascii=False) + "\n" for a in corpus.articles)
    paths["articles"].write_text(jsonl, encoding="utf-8", newline="\n")
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=["article_id", "sentence", "narrative_key", "theme"], lineterminator="\n")
    writer.writeheader()
    writer.writerows(corpus.truth)
    paths["truth"].write_text(buf.getvalue(), encoding="utf-8", newline="\n")
    paths["reprints"] = out / "reprints.csv"
    rep = io.StringIO()
    rw = csv.DictWriter(rep, fieldnames=["article_id", "original_article_id"], lineterminator="\n")
    rw.writeheader()
    rw.writerows(corpus.reprints)
    paths["reprints"].write_text(rep.getvalue(), encoding="utf-8", newline="\n")
    nar = [{"key": n.key, "theme": n.theme, "description": n.description} for n in corpus.narratives]
    paths["narratives"].write_text(json.dumps(nar, indent=2, ensure_ascii=False) + "\n", encoding="utf-8", newline="\n")
    paths["dynamics"] = out / "planted_dynamics.json"
    paths["dynamics"].write_text(json.dumps(corpus.dynamics, indent=2, ensure_ascii=False) + "\n", encoding="utf-8",
                                 newline="\n")
    return paths
