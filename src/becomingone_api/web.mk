# The dashboard's chart library (uPlot) from npm, installed offline-ready into
# src/becomingone_api/web/node_modules (setup.py installs it into the package's share/).
# Included by the root Makefile:  -include src/becomingone_api/web.mk
BECOMINGONE_WEB := $(ROOT)/src/becomingone_api/web
.PHONY: web
web: $(BECOMINGONE_WEB)/node_modules/.package-lock.json

$(BECOMINGONE_WEB)/node_modules/.package-lock.json: $(BECOMINGONE_WEB)/package.json $(BECOMINGONE_WEB)/package-lock.json
	@if command -v npm >/dev/null; then
	  echo "setup: npm ci (dashboard: uPlot)"
	  cd "$(BECOMINGONE_WEB)" && npm ci --no-audit --no-fund --silent && touch node_modules/.package-lock.json
	else
	  echo "setup: no npm (apt-get install npm): the dashboard runs without charts" >&2
	fi

# Before colcon builds becomingone_api, so the files are there to install.
build: web
