# Makefile — govshare, built with PGXS
#
# The version lives in govshare.control only; everything else reads it here,
# and scripts/check-meta checks that META.json and debian/changelog say the
# same.

EXTENSION  = govshare
EXTVERSION := $(shell sed -n "s/^default_version *= *'\(.*\)'/\1/p" $(EXTENSION).control)

MODULE_big = govshare
# One folder per subsystem under src/ (docs/architecture.md).
OBJS = $(patsubst %.c,%.o,$(sort $(wildcard src/*.c src/*/*.c)))

# The install script is assembled from src/sql: a header, then for every type
# the shared template (I/O, operators, operator classes, casts, disclosure
# transforms) followed by the type's own functions.
TYPES8 = $(foreach t,personal_id tax_code social_insurance_no health_insurance_no phone_number,$(if $(wildcard src/sql/types/$(t).sql),$(t)))
# Types whose value is a number, cast to and from bigint.
TYPES_BIGINT = personal_id social_insurance_no phone_number
TYPES4 = $(foreach t,admin_unit partial_date,$(if $(wildcard src/sql/types/$(t).sql),$(t)))
DATA_built = $(EXTENSION)--$(EXTVERSION).sql
# Upgrade scripts are written by hand and committed: a released version's
# install script never changes, the next one starts from it.
DATA = $(wildcard data/govshare_*.csv) $(wildcard $(EXTENSION)--*--*.sql)

PG_CPPFLAGS = -I$(srcdir)/src -I$(srcdir)/include -I$(libpq_srcdir) -DGOVSHARE_VERSION=\"$(EXTVERSION)\"
SHLIB_LINK_INTERNAL = $(libpq)
SHLIB_LINK = -lcrypto
PG_CFLAGS = -Wall -Wextra -Werror -Wno-unused-parameter -Wno-sign-compare \
	-Wno-missing-field-initializers

# make installcheck (against a running server set up as README.md says, with
# a superuser: PGHOST, PGPORT, PGUSER) runs the regression files that create
# nothing outside their own database, contrib_regression, and need no key
# files: no roles, no ALTER SYSTEM.  The others need throw-away clusters:
# bash scripts/test runs every file of sql/ (docs/testing.md).  A server
# that does not preload govshare is refused before pg_regress starts.
REGRESS = admin_unit health_insurance_no partial_date personal_id phone_number \
	social_insurance_no tax_code classification_inheritance quality_report
REGRESS_PREP = installcheck-preflight

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

# Modules after the types, in dependency order.
SQL_MODULES = $(wildcard src/sql/dictionary.sql src/sql/profile_vn.sql src/sql/token.sql \
	src/sql/policy.sql src/sql/enforce.sql src/sql/audit.sql src/sql/remote.sql src/sql/usage.sql)
SQL_PARTS = src/sql/header.sql src/sql/type_template.sql.in src/sql/type_bigint.sql.in \
	$(wildcard src/sql/types/*.sql) $(SQL_MODULES) src/sql/footer.sql

$(EXTENSION)--$(EXTVERSION).sql: $(SQL_PARTS) Makefile
	{ sed 's/@EXTVERSION@/$(EXTVERSION)/g' src/sql/header.sql; \
	  for t in $(TYPES8); do \
	    sed -e "s/@TYPE@/$$t/g" -e "s/@BASE@/int8/g" src/sql/type_template.sql.in; \
	    case " $(TYPES_BIGINT) " in *" $$t "*) \
	      sed -e "s/@TYPE@/$$t/g" src/sql/type_bigint.sql.in;; esac; \
	    cat src/sql/types/$$t.sql; \
	  done; \
	  for t in $(TYPES4); do \
	    sed -e "s/@TYPE@/$$t/g" -e "s/@BASE@/int4/g" src/sql/type_template.sql.in; \
	    cat src/sql/types/$$t.sql; \
	  done; \
	  cat $(SQL_MODULES) src/sql/footer.sql; } > $@

# make dist: the PGXN distribution govshare-<version>.zip, every file of the
# committed tree at HEAD under govshare-<version>/ (git archive; what is not
# committed is not in it), written to DISTDIR (default: here).  META.json
# is checked first (docs/packaging.md).
DISTDIR ?= $(CURDIR)
dist:
	perl $(srcdir)/scripts/check-meta $(srcdir)
	git -C $(srcdir) archive --format=zip --prefix=$(EXTENSION)-$(EXTVERSION)/ \
		-o $(abspath $(DISTDIR))/$(EXTENSION)-$(EXTVERSION).zip HEAD

.PHONY: dist

installcheck-preflight:
	@$(srcdir)/scripts/installcheck-preflight '$(bindir)/psql' '$(EXTVERSION)'

.PHONY: installcheck-preflight

# Fuzz targets: libFuzzer over the server-independent parsing core.
fuzz:
	$(MAKE) -C test/fuzz

.PHONY: fuzz

# govshare-verify, the offline verifier of the access log: a client program
# of its own in tools/ (libpq and libcrypto only), installed into the
# server's bindir (docs/verify.md).
all: tools-all
install: tools-install
uninstall: tools-uninstall
clean: tools-clean

tools-all tools-install tools-uninstall tools-clean:
	$(MAKE) -C tools $(patsubst tools-%,%,$@) PG_CONFIG="$(PG_CONFIG)"

.PHONY: tools-all tools-install tools-uninstall tools-clean
