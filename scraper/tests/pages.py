"""Realistic pages the tests serve: structured data of each kind, none at all, broken markup."""

from __future__ import annotations

COMPANY_JSONLD = """<!doctype html>
<html lang="en"><head>
<meta charset="utf-8"><title>Acme Rockets | Reusable launch for everyone</title>
<meta name="description" content="Acme builds reusable rockets.">
<meta name="generator" content="WordPress 6.4">
<link rel="stylesheet" href="/wp-content/themes/acme/style.css">
<script async src="https://www.googletagmanager.com/gtag/js?id=G-ABC123"></script>
<script src="https://js.hs-scripts.com/123.js"></script>
<script type="application/ld+json">
{"@context": "https://schema.org", "@graph": [
  {"@type": "WebSite", "name": "Acme site"},
  {"@type": "Organization", "name": "Acme Rockets Inc.", "url": "https://acme.example",
   "description": "Acme designs and flies reusable rockets for small satellites.",
   "foundingDate": "2014-03-01", "numberOfEmployees": {"@type": "QuantitativeValue", "value": 250},
   "address": {"@type": "PostalAddress", "addressLocality": "Austin", "addressRegion": "Texas",
               "addressCountry": "United States"},
   "email": "mailto:hello@acme.example", "telephone": "+1 512 555 0100",
   "sameAs": ["https://www.linkedin.com/company/acme-rockets", "https://twitter.com/acmerockets"]}
]}
</script>
</head><body>
<header><nav><a href="/">Home</a> <a href="/about">About us</a> <a href="/contact">Contact</a></nav></header>
<main><h1>Launch with Acme</h1><p>We fly every week from Texas. Pricing from $1,200,000 per kg... kidding.</p></main>
<footer>
 <a href="https://github.com/acme-rockets">GitHub</a>
 <a href="https://www.facebook.com/sharer/sharer.php?u=acme">Share</a>
 <p>Call us: (512) 555-0199</p>
</footer>
</body></html>"""

CONTACT_PAGE = """<!doctype html><html><head><title>Contact Acme</title></head><body>
<h1>Contact</h1><p>Sales: <a href="mailto:sales@acme.example?subject=Hi">sales@acme.example</a></p>
<p>Press: press@acme.example</p><p>Phone: +1 (512) 555-0142</p>
<img src="logo@2x.png" alt="logo">
</body></html>"""

ABOUT_PAGE = """<!doctype html><html><head><title>About Acme</title></head><body>
<h1>About</h1><p>Founded in 2014. Follow us on <a href="https://www.instagram.com/acmerockets/">Instagram</a>.</p>
</body></html>"""

COMPANY_MICRODATA = """<!doctype html><html><head><title>Bolt Bakery</title></head>
<body><div itemscope itemtype="https://schema.org/LocalBusiness">
  <h1 itemprop="name">Bolt Bakery</h1>
  <p itemprop="description">Sourdough and pastries since 1998, baked in Lyon.</p>
  <div itemprop="address" itemscope itemtype="https://schema.org/PostalAddress">
    <span itemprop="addressLocality">Lyon</span>, <span itemprop="addressCountry">France</span>
  </div>
  Tel: <span itemprop="telephone">+33 4 78 00 00 00</span>
</div></body></html>"""

COMPANY_OPENGRAPH = """<!doctype html><html prefix="og: https://ogp.me/ns#"><head>
<title>Nimbus - Cloud notes</title>
<meta property="og:site_name" content="Nimbus">
<meta property="og:type" content="website">
<meta property="og:description" content="Nimbus keeps your team's notes in sync.">
<script id="__NEXT_DATA__" type="application/json">{"props":{}}</script>
<script src="/_next/static/chunks/main.js"></script>
</head><body><div id="__next"><h1>Nimbus</h1><p>Notes that follow you everywhere, on every device, always.
Write once and find it anywhere: the web, your phone, your desktop. Teams of every size use Nimbus to keep their
knowledge in one place and stop losing decisions in chat threads and forgotten documents.</p></div></body></html>"""

NO_DATA = """<!doctype html><html><head><title></title></head><body>
<p>Nothing to see here. This page has plain words, and nothing a company would publish about itself.</p>
</body></html>"""

BROKEN_MARKUP = """<html><head><title>Broken Co</title>
<script type="application/ld+json">{"@type": "Organization", "name": "Broken Co", "description": </script>
<meta property="og:site_name" content="Broken Co"
<body><div><p>Reach us at info@broken.example<div></span></table>
<a href="mailto:ceo@broken.example">CEO</a>"""

JOBS_JSONLD = """<!doctype html><html><head><title>Careers at Acme</title>
<script type="application/ld+json">[
 {"@context": "https://schema.org", "@type": "JobPosting", "title": "Senior Propulsion Engineer",
  "hiringOrganization": {"@type": "Organization", "name": "Acme"}, "datePosted": "2026-11-01"},
 {"@context": "https://schema.org", "@type": "JobPosting", "title": "Flight Software Engineer",
  "hiringOrganization": {"@type": "Organization", "name": "Acme"}, "datePosted": "2026-11-03"}
]</script>
<script type="application/ld+json">{"@context": "https://schema.org", "@type": "JobPosting",
 "title": "Launch Site Technician"}</script>
</head><body><h1>Join us</h1></body></html>"""

JOBS_FALLBACK = """<!doctype html><html><head><title>Careers</title></head><body>
<h1>Open positions</h1>
<ul class="openings">
  <li><a href="/jobs/account-executive">Account Executive</a> - Remote</li>
  <li><a href="/jobs/solutions-engineer">Solutions Engineer</a> - Berlin</li>
  <li><a href="/blog/why-we-hire">Why we hire</a></li>
</ul></body></html>"""

PERSON_JSONLD = """<!doctype html><html><head><title>Ada Lovelace - Profile</title>
<script type="application/ld+json">{"@context": "https://schema.org", "@type": "Person",
 "name": "Ada Lovelace", "givenName": "Ada", "familyName": "Lovelace", "jobTitle": "Head of Analytics",
 "description": "Head of Analytics at Engines Ltd", "worksFor": {"@type": "Organization", "name": "Engines Ltd"},
 "homeLocation": {"@type": "Place", "address": {"@type": "PostalAddress", "addressLocality": "London",
 "addressCountry": "United Kingdom"}}, "sameAs": ["https://www.linkedin.com/in/ada-lovelace"]}</script>
</head><body><h1>Ada Lovelace</h1></body></html>"""

PERSON_HTML = """<!doctype html><html><head><title>Grace Hopper | Profile</title>
<meta property="og:type" content="profile"><meta property="og:title" content="Grace Hopper"></head>
<body><section class="top-card">
 <h1>Grace Hopper</h1>
 <div class="headline">Rear Admiral at US Navy</div>
 <div class="current-company">US Navy</div>
 <span class="location">Arlington, Virginia, United States</span>
</section></body></html>"""

# Content that exists only after JavaScript runs: a shell whose script writes the data.
SCRIPT_SHELL = """<!doctype html><html><head><title>Loading...</title></head>
<body><div id="root"></div>
<script>
  setTimeout(function () {
    var data = {"@context": "https://schema.org", "@type": "Organization", "name": "Rendered Corp",
                "description": "Built entirely by script."};
    var s = document.createElement("script"); s.type = "application/ld+json"; s.text = JSON.stringify(data);
    document.head.appendChild(s);
    document.getElementById("root").innerHTML = '<h1>Rendered Corp</h1><a href="mailto:hi@rendered.example">mail</a>'
      + '<p>webdriver=' + String(navigator.webdriver) + '</p>';
  }, 50);
</script></body></html>"""
