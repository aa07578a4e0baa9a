# install.mk - make install (included by the Makefile): the programs, their
# --help texts, the sample configuration, the systemd units and the system
# user, under DESTDIR (a staging root, for packages) and PREFIX.
#
#   PREFIX/sbin/maillaged
#   PREFIX/bin/maillage, maillage-admin, and tools/maillage-ca,
#       tools/maillage-backup when present
#   PREFIX/share/doc/maillage/NAME.txt      each program's --help
#   SYSCONFDIR/maillage/maillaged.conf.example
#   SYSTEMDUNITDIR/*.service, *.timer       from deploy/, with /usr/sbin/ and
#                                           /usr/bin/ rewritten to PREFIX's
#   SYSUSERSDIR/maillage.conf               the maillage system user
#
# Units go under PREFIX (PREFIX/lib/systemd/system) rather than the
# distribution's /lib/systemd/system: systemd reads both /usr/lib/systemd/system
# (PREFIX=/usr, the same as /lib on a merged-/usr Debian) and
# /usr/local/lib/systemd/system (the default PREFIX), and a /usr/local install
# then never writes over what the package manager owns. SYSCONFDIR stays /etc
# whatever PREFIX: the units name /etc/maillage/maillaged.conf.

PREFIX         ?= /usr/local
SYSCONFDIR     ?= /etc
DOCDIR         ?= $(PREFIX)/share/doc/maillage
SYSTEMDUNITDIR ?= $(PREFIX)/lib/systemd/system
SYSUSERSDIR    ?= $(PREFIX)/lib/sysusers.d
INSTALL        ?= install

INSTALL_SCRIPTS := $(wildcard tools/maillage-ca tools/maillage-backup)
INSTALL_UNITS   := $(wildcard deploy/*.service deploy/*.timer)
INSTALL_STAGE   := $(BUILD)/install

# install_program FILE DIR: FILE to DIR, executable.
define install_program
	$(INSTALL) -D -m 755 $(1) $(2)/$(notdir $(1))

endef

# install_help PROGRAM: its --help into the staging directory, then DOCDIR.
define install_help
	$(1) --help >$(INSTALL_STAGE)/$(notdir $(1)).txt
	$(INSTALL) -D -m 644 $(INSTALL_STAGE)/$(notdir $(1)).txt $(DESTDIR)$(DOCDIR)/$(notdir $(1)).txt

endef

# install_unit FILE: FILE with the programs' paths rewritten, to SYSTEMDUNITDIR.
define install_unit
	sed -e 's|/usr/sbin/|$(PREFIX)/sbin/|g' -e 's|/usr/bin/|$(PREFIX)/bin/|g' \
		-e 's|/usr/share/doc/maillage/|$(DOCDIR)/|g' $(1) >$(INSTALL_STAGE)/$(notdir $(1))
	$(INSTALL) -D -m 644 $(INSTALL_STAGE)/$(notdir $(1)) $(DESTDIR)$(SYSTEMDUNITDIR)/$(notdir $(1))

endef

.PHONY: install
install: $(PROGRAMS) ## install programs, --help texts, sample configuration and systemd units (PREFIX=/usr/local, DESTDIR=)
	@mkdir -p $(INSTALL_STAGE)
	$(call install_program,$(BIN)/maillaged,$(DESTDIR)$(PREFIX)/sbin)
	$(foreach p,$(BIN)/maillage $(BIN)/maillage-admin $(INSTALL_SCRIPTS),\
		$(call install_program,$(p),$(DESTDIR)$(PREFIX)/bin))
	$(foreach p,$(PROGRAMS) $(INSTALL_SCRIPTS),$(call install_help,$(p)))
	$(INSTALL) -D -m 644 deploy/maillaged.conf.example \
		$(DESTDIR)$(SYSCONFDIR)/maillage/maillaged.conf.example
	$(foreach u,$(INSTALL_UNITS),$(call install_unit,$(u)))
	printf 'u maillage - "maillage server" /var/lib/maillage\n' >$(INSTALL_STAGE)/sysusers.conf
	$(INSTALL) -D -m 644 $(INSTALL_STAGE)/sysusers.conf $(DESTDIR)$(SYSUSERSDIR)/maillage.conf
