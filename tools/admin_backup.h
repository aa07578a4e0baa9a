/* admin_backup.h - maillage-admin's backup and restore commands. */
#ifndef MAILLAGE_ADMIN_BACKUP_H
#define MAILLAGE_ADMIN_BACKUP_H

/* args are what follows the command name. Print the outcome; return the
 * exit status (0 done, 1 a fault was found, 2 usage, unreadable input or a
 * refused destination). */
int admin_backup(int argc, char **argv);
int admin_restore(int argc, char **argv);

#endif
